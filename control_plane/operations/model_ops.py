"""Models and rollouts: versions, manifests, promotion; pausing, aborting, rolling back."""

from __future__ import annotations

import json
from typing import Any

from control_plane.access import Permission, Principal
from control_plane.operations.base import OperationsBase
from control_plane.operations.views import (
    WaveHealth,
    decisions_by_risk_for_version,
    wave_health,
)
from control_plane.promotion import GateReport, evaluate_gate
from control_plane.registry import ModelVersion
from control_plane.rollout import ACTIVE_STATUSES, Rollout, RolloutError


class ModelOperations(OperationsBase):
    """Model and rollout operations."""

    # -- models ---------------------------------------------------------------------
    def models(self, who: Principal) -> list[ModelVersion]:
        """Return every registered version, newest first."""
        who.require(Permission.VIEW)
        return sorted(self.plane.registry.list(), key=lambda m: m.version, reverse=True)

    def model(self, who: Principal, version: int) -> ModelVersion:
        """Return one registered version (raises if there is none)."""
        who.require(Permission.VIEW)
        return self.plane.registry.get(version)

    def champion(self, who: Principal) -> ModelVersion | None:
        """Return the version the champion alias points at, if any."""
        who.require(Permission.VIEW)
        return self.plane.registry.alias("champion")

    def manifest(self, who: Principal, version: int) -> dict[str, Any]:
        """Return a version's manifest: its metrics per site and its lineage."""
        model = self.model(who, version)
        text = (model.path / "manifest.json").read_text(encoding="utf-8")
        manifest: dict[str, Any] = json.loads(text)
        return manifest

    def gate_report(self, who: Principal, version: int) -> GateReport:
        """Judge `version` against the champion with today's gate, recording nothing.

        `promote` judges again and puts that verdict on record; this is the preview a page
        shows while someone decides.
        """
        manifest = self.manifest(who, version)
        champion = self.plane.registry.alias("champion")
        return evaluate_gate(
            challenger_version=version,
            champion_version=champion.version if champion else None,
            metrics=dict(manifest.get("metrics", {})),
            lineage=dict(manifest.get("lineage", {})),
            config=self.plane.settings.gate.config(),
            now=self._clock(),
        )

    def model_decisions(self, who: Principal, version: int) -> dict[str, int]:
        """Return how many decisions `version` made at the sites, by risk level."""
        who.require(Permission.VIEW)
        return decisions_by_risk_for_version(self.plane.writer.db, version)

    def promote(
        self, who: Principal, version: int, *, reason: str, force: bool = False
    ) -> tuple[int, GateReport]:
        """Start a rollout of `version` (it must pass the gate unless an admin forces it)."""
        who.require(Permission.PROMOTE)
        if force:
            who.require(Permission.OVERRIDE_CRITICAL)
        return self.plane.promote(version, actor=who.name, force=force, reason=reason)

    # -- rollouts -------------------------------------------------------------------
    def rollouts(self, who: Principal, *, limit: int = 50) -> list[Rollout]:
        """Return the newest rollouts, newest first."""
        who.require(Permission.VIEW)
        ids = self.plane.engine.store.ids()[-limit:]
        found = (self.plane.engine.store.get(i) for i in reversed(ids))
        return [r for r in found if r is not None]

    def rollout(self, who: Principal, rollout_id: int) -> Rollout:
        """Return one rollout with its waves and sites."""
        who.require(Permission.VIEW)
        found = self.plane.engine.store.get(rollout_id)
        if found is None:
            raise RolloutError(f"There is no rollout {rollout_id}.")
        return found

    def active_rollout(self, who: Principal) -> Rollout | None:
        """Return the running or paused rollout, if there is one."""
        who.require(Permission.VIEW)
        ids = self.plane.engine.store.ids(statuses=ACTIVE_STATUSES)
        return self.plane.engine.store.get(ids[-1]) if ids else None

    def last_completed_rollout(self, who: Principal) -> Rollout | None:
        """Return the newest completed rollout: the one a model rollback undoes."""
        who.require(Permission.VIEW)
        rollout_id = self.plane.last_completed_rollout()
        return None if rollout_id is None else self.plane.engine.store.get(rollout_id)

    def wave_health(self, who: Principal, rollout_id: int) -> list[WaveHealth]:
        """Return each wave of a rollout: its sites' live MAE against their baseline."""
        return wave_health(self.rollout(who, rollout_id))

    def pause(self, who: Principal, rollout_id: int, *, reason: str) -> Rollout:
        """Pause a rollout: no new wave starts until it is resumed; return it as it is now."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.pause(rollout_id, actor=who.name, reason=reason)
        return self.rollout(who, rollout_id)

    def resume(self, who: Principal, rollout_id: int, *, reason: str) -> Rollout:
        """Resume a paused rollout."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.resume(rollout_id, actor=who.name, reason=reason)
        return self.rollout(who, rollout_id)

    def abort(self, who: Principal, rollout_id: int, *, reason: str) -> Rollout:
        """Stop a rollout and send the touched sites back to their previous model."""
        who.require(Permission.CONTROL_ROLLOUT)
        self.plane.engine.abort(rollout_id, actor=who.name, reason=reason)
        return self.rollout(who, rollout_id)

    def roll_back(self, who: Principal, rollout_id: int, *, reason: str) -> Rollout:
        """Roll a rollout back, even a completed one (the champion moves back too)."""
        who.require(Permission.ROLL_BACK)
        self.plane.engine.roll_back(rollout_id, actor=who.name, reason=reason)
        return self.rollout(who, rollout_id)
