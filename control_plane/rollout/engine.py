"""The rollout state machine: offer, bake, judge, widen or roll back; resumable after a crash.

Every step reads its state from the database and writes its change there before acting on
the network, and every network action is idempotent (offers and rollback orders are resent
until the agents answer), so `tick()` can run after a control-plane restart and simply pick
up where the rollout was.

Wave: pending → offering (offers out) → baking (all activated) → passed, or failed.
Site: pending → offered → activated | failed → rolled_back.
Rollout: running ⇄ paused → completed | rolled_back | aborted.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from control_plane.registry import ModelRegistry
from control_plane.rollout.plan import RolloutPlan, assign_waves
from control_plane.rollout.store import ACTIVE_STATUSES, Rollout, RolloutStore
from control_plane.state import AuditLog, FleetStore
from edgeward.bundles import CHAMPION
from edgeward.errors import EdgewardError

log = logging.getLogger(__name__)


class RolloutError(EdgewardError):
    """A rollout cannot be started or changed as asked."""


class Courier(Protocol):
    """Delivers the engine's messages to agents (the ZeroMQ server, or a fake in tests)."""

    def offer(self, site: str, rollout_id: int, version: int) -> bool:
        """Offer a version to a site; False when the site is not connected."""

    def order_rollback(
        self, site: str, rollout_id: int, from_version: int, to_version: int | None, reason: str
    ) -> bool:
        """Send a signed rollback order; False when the site is not connected."""


class RollbackScreen(Protocol):
    """Screens a rollback before it runs (the control plane's pipeline screening)."""

    def rollback(
        self,
        *,
        rollout_id: int,
        version: int,
        baseline_version: int | None,
        sites: int,
        reason: str,
    ) -> object:
        """Screen and record the rollback; it runs whatever the verdict."""


class RolloutEngine:
    """Drive every running rollout one step per `tick()`."""

    def __init__(
        self,
        store: RolloutStore,
        fleet: FleetStore,
        registry: ModelRegistry,
        audit: AuditLog,
        courier: Courier,
        *,
        screen: RollbackScreen | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.screen = screen
        self.fleet = fleet
        self.registry = registry
        self.audit = audit
        self.courier = courier
        self.clock = clock
        self._last_sent: dict[tuple[int, str], float] = {}
        # `start()` takes the first step itself while the periodic `tick()` may be running in
        # another thread: one step at a time, so a wave is never offered twice at once.
        self._stepping = threading.RLock()

    # -- operator actions -------------------------------------------------------------
    def start(
        self,
        version: int,
        *,
        actor: str,
        plan: RolloutPlan | None = None,
        gate_report: dict[str, Any] | None = None,
        sites: list[str] | None = None,
    ) -> int:
        """Start rolling `version` out to the fleet; return the rollout id."""
        if self.store.ids(statuses=ACTIVE_STATUSES):
            raise RolloutError("another rollout is in progress; finish, abort or roll it back")
        self.registry.get(version)  # raises if there is no such version
        fleet = sites if sites is not None else [s.site for s in self.fleet.list()]
        if not fleet:
            raise RolloutError("no site has reported yet: there is nothing to roll out to")
        champion = self.registry.alias(CHAMPION)
        chosen = plan or RolloutPlan()
        waves = assign_waves(fleet, chosen)
        now = self.clock()
        rollout_id = self.store.create(
            version=version,
            baseline_version=champion.version if champion else None,
            plan=chosen,
            waves=waves,
            created_by=actor,
            gate_report=gate_report,
            now=now,
        )
        self.audit.record(
            actor=actor,
            action="rollout.start",
            subject=f"rollout {rollout_id}",
            detail={
                "version": version,
                "waves": waves,
                "baseline": champion.version if champion else None,
            },
        )
        log.info("rollout %s of version %s started: waves %s", rollout_id, version, waves)
        # Offer the canary now rather than at the next tick (a second by default): nothing
        # is gained by waiting, and every site of the wave would wait with it.
        self._step(rollout_id)
        return rollout_id

    def pause(self, rollout_id: int, *, actor: str, reason: str = "") -> None:
        """Hold a running rollout where it is."""
        self._operator(rollout_id, "paused", ("running",), actor=actor, reason=reason)

    def resume(self, rollout_id: int, *, actor: str, reason: str = "") -> None:
        """Let a paused rollout go on."""
        self._operator(rollout_id, "running", ("paused",), actor=actor, reason=reason)

    def abort(self, rollout_id: int, *, actor: str, reason: str) -> None:
        """Stop a rollout and put every touched site back on the baseline."""
        rollout = self._require(rollout_id, ACTIVE_STATUSES)
        self._roll_back(rollout, status="aborted", reason=f"aborted by {actor}: {reason}")

    def roll_back(self, rollout_id: int, *, actor: str, reason: str) -> None:
        """Roll a rollout back, even a completed one (the champion alias moves back too)."""
        rollout = self._require(rollout_id, (*ACTIVE_STATUSES, "completed"))
        if rollout.status == "completed" and rollout.baseline_version is not None:
            self.registry.set_alias(
                CHAMPION,
                rollout.baseline_version,
                actor=actor,
                reason=f"rollout {rollout_id} rolled back: {reason}",
            )
        self._roll_back(rollout, status="rolled_back", reason=f"rolled back by {actor}: {reason}")

    # -- agent reports ----------------------------------------------------------------
    def activation_reported(
        self, *, site: str, rollout_id: int, version: int, status: str, detail: str
    ) -> None:
        """Record an agent's activation result (idempotent: the same report changes nothing)."""
        rollout = self.store.get(rollout_id)
        if rollout is None or version not in (rollout.version, rollout.baseline_version):
            return
        progress = {s.site: s for s in rollout.sites}.get(site)
        if progress is None or progress.status == status:
            return
        self.store.set_site(rollout_id, site, status=status, detail=detail, now=self.clock())
        self.audit.record(
            actor=f"agent:{site}",
            action=f"rollout.site.{status}",
            subject=f"rollout {rollout_id}",
            detail={"site": site, "version": version, "detail": detail},
        )

    # -- the state machine ----------------------------------------------------------------
    def tick(self) -> None:
        """Advance every running rollout by what its state and the clock allow."""
        for rollout_id in self.store.ids(statuses=("running",)):
            self._step(rollout_id)

    def _step(self, rollout_id: int) -> None:
        with self._stepping:
            rollout = self.store.get(rollout_id)
            if rollout is None or rollout.status != "running":
                return
            try:
                self._advance(rollout)
            except EdgewardError as err:
                log.error("rollout %s could not advance: %s", rollout_id, err)

    def _advance(self, rollout: Rollout) -> None:
        now = self.clock()
        wave = rollout.waves[rollout.current_wave]
        members = [s for s in rollout.sites if s.wave == wave.wave]
        if wave.status == "pending":
            # One commit for the whole wave, then the offers: an offer made before a crash
            # that lost its record would only be made again, which agents take as a no-op.
            with self.store.writer.transaction():
                for site in members:
                    record = self.fleet.get(site.site)
                    baseline = record.quality.get("live_mae") if record else None
                    self.store.set_site(
                        rollout.id,
                        site.site,
                        status="offered",
                        now=now,
                        baseline_mae=baseline,
                        offered=True,
                    )
                self.store.set_wave(rollout.id, wave.wave, status="offering", now=now)
            for site in members:
                self._send_offer(rollout, site.site, now)
            return
        if wave.status == "offering":
            self._advance_offering(rollout, wave.wave, members, now)
            return
        if wave.status == "baking" and wave.bake_until is not None and now >= wave.bake_until:
            self._judge(rollout, wave.wave, members, now)

    def _advance_offering(
        self, rollout: Rollout, wave: int, members: list[Any], now: float
    ) -> None:
        failed = [s for s in members if s.status == "failed"]
        if failed:
            reasons = "; ".join(f"{s.site}: {s.detail}" for s in failed)
            self._roll_back(
                rollout, status="rolled_back", reason=f"activation failed in wave {wave}: {reasons}"
            )
            return
        waiting = [s for s in members if s.status != "activated"]
        if not waiting:
            self.store.set_wave(
                rollout.id, wave, status="baking", now=now, bake_until=now + rollout.plan.bake_s
            )
            return
        started = rollout.waves[wave].started_at or now
        if now - started > rollout.plan.activation_timeout_s:
            names = ", ".join(s.site for s in waiting)
            self._roll_back(
                rollout,
                status="rolled_back",
                reason=f"{names} did not activate within {rollout.plan.activation_timeout_s:.0f} s",
            )
            return
        for site in waiting:
            self._send_offer(rollout, site.site, now)

    def _judge(self, rollout: Rollout, wave: int, members: list[Any], now: float) -> None:
        plan = rollout.plan
        live: dict[str, float] = {}
        samples_short = []
        for site in members:
            record = self.fleet.get(site.site)
            quality = record.quality if record else {}
            on_new = record is not None and record.active_version == rollout.version
            if on_new and quality.get("samples", 0) >= plan.min_samples:
                live[site.site] = float(quality["live_mae"])
                self.store.set_site(
                    rollout.id,
                    site.site,
                    status=site.status,
                    now=now,
                    live_mae=live[site.site],
                    detail=site.detail,
                )
            else:
                samples_short.append(site.site)
        waited = now - (rollout.waves[wave].bake_until or now)
        if samples_short and waited < plan.max_bake_extension_s:
            return  # not enough live evidence yet: bake a little longer
        paired = [
            (live[s.site], s.baseline_mae)
            for s in members
            if s.site in live and s.baseline_mae is not None
        ]
        if paired:
            new = statistics.fmean(p[0] for p in paired)
            old = statistics.fmean(float(p[1]) for p in paired)
            if new > old * (1 + plan.regression_threshold):
                self._roll_back(
                    rollout,
                    status="rolled_back",
                    reason=f"live regression in wave {wave}: forecast MAE {new:.4f} "
                    f"on the new model vs {old:.4f} before "
                    f"(threshold +{plan.regression_threshold:.0%})",
                )
                return
            verdict = f"live MAE {new:.4f} vs {old:.4f} before"
        elif samples_short:
            # Quiet sites (no readings) must not hold the fleet back forever; say so plainly.
            verdict = (
                f"passed on activation alone: fewer than {plan.min_samples} live samples on "
                f"{', '.join(samples_short)} after the bake and its extension"
            )
            log.warning("rollout %s wave %s %s", rollout.id, wave, verdict)
        else:
            verdict = "no live baseline to compare with (first model)"
        self.store.set_wave(rollout.id, wave, status="passed", now=now, verdict=verdict)
        if wave + 1 < len(rollout.waves):
            self.store.set_wave(rollout.id, wave + 1, status="pending", now=now)
            log.info("rollout %s wave %s passed (%s)", rollout.id, wave, verdict)
            return
        self.registry.set_alias(
            CHAMPION,
            rollout.version,
            actor="rollout-engine",
            reason=f"rollout {rollout.id} completed on every site",
            report=rollout.gate_report,
        )
        self.store.set_status(rollout.id, "completed", reason=verdict, now=now)
        self.audit.record(
            actor="rollout-engine",
            action="rollout.complete",
            subject=f"rollout {rollout.id}",
            detail={"version": rollout.version},
        )
        log.info("rollout %s completed: version %s is champion", rollout.id, rollout.version)

    def _roll_back(self, rollout: Rollout, *, status: str, reason: str) -> None:
        touched = [s for s in rollout.sites if s.status not in ("pending", "rolled_back")]
        if self.screen is not None:
            # Recorded, never waited for: going back to the working model is the safe way.
            self.screen.rollback(
                rollout_id=rollout.id,
                version=rollout.version,
                baseline_version=rollout.baseline_version,
                sites=len(touched),
                reason=reason,
            )
        now = self.clock()
        self.store.set_status(rollout.id, status, reason=reason, now=now)
        for site in touched:
            self.store.set_site(
                rollout.id, site.site, status="rollback_ordered", now=now, detail=reason
            )
            self.courier.order_rollback(
                site.site, rollout.id, rollout.version, rollout.baseline_version, reason
            )
        self.audit.record(
            actor="rollout-engine",
            action=f"rollout.{status}",
            subject=f"rollout {rollout.id}",
            detail={"reason": reason, "sites": [s.site for s in touched]},
        )
        log.warning("rollout %s %s: %s", rollout.id, status, reason)

    def resend_rollback_orders(self) -> None:
        """Repeat rollback orders not yet confirmed (sites offline when they were sent)."""
        now = self.clock()
        for rollout_id in self.store.ids(statuses=("rolled_back", "aborted")):
            rollout = self.store.get(rollout_id)
            if rollout is None:
                continue
            for site in rollout.sites:
                if site.status == "rollback_ordered" and self._due(rollout, site.site, now):
                    self.courier.order_rollback(
                        site.site,
                        rollout.id,
                        rollout.version,
                        rollout.baseline_version,
                        rollout.reason,
                    )

    def _send_offer(self, rollout: Rollout, site: str, now: float) -> None:
        if self._due(rollout, site, now):
            self.courier.offer(site, rollout.id, rollout.version)

    def _due(self, rollout: Rollout, site: str, now: float) -> bool:
        key = (rollout.id, site)
        if now - self._last_sent.get(key, -1e18) < rollout.plan.offer_resend_s:
            return False
        self._last_sent[key] = now
        return True

    def _operator(
        self, rollout_id: int, status: str, allowed: tuple[str, ...], *, actor: str, reason: str
    ) -> None:
        self._require(rollout_id, allowed)
        self.store.set_status(rollout_id, status, reason=reason, now=self.clock())
        self.audit.record(
            actor=actor,
            action=f"rollout.{status}",
            subject=f"rollout {rollout_id}",
            detail={"reason": reason},
        )

    def _require(self, rollout_id: int, allowed: tuple[str, ...]) -> Rollout:
        rollout = self.store.get(rollout_id)
        if rollout is None:
            raise RolloutError(f"there is no rollout {rollout_id}")
        if rollout.status not in allowed:
            raise RolloutError(
                f"rollout {rollout_id} is {rollout.status}; this needs it to be "
                f"{' or '.join(allowed)}"
            )
        return rollout
