"""The control plane's state opened in this process, for operator commands on its host.

Commands change the database; the serving control plane acts on the change at its next tick
(offers, rollback orders and approval verdicts go out from there). The HTTP API of the
dashboard milestone brings the same operations to remote operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from control_plane.approvals import ApprovalDesk
from control_plane.pipeline_risk import PipelineScreen
from control_plane.promotion import GateReport, judge_version
from control_plane.registry import ModelRegistry, SqliteRegistry
from control_plane.rollout import RolloutEngine, RolloutError, RolloutStore
from control_plane.settings import ControlSettings, load_control_settings
from control_plane.state import AuditLog, FleetStore, Writer, open_control_db


class DeferredCourier:
    """Sends nothing: the serving control plane delivers offers and rollback orders."""

    def offer(self, site: str, rollout_id: int, version: int) -> bool:
        """Leave the offer to the serving control plane."""
        return False

    def order_rollback(
        self, site: str, rollout_id: int, from_version: int, to_version: int | None, reason: str
    ) -> bool:
        """Leave the order to the serving control plane (it resends pending orders)."""
        return False


@dataclass(kw_only=True, slots=True)
class LocalPlane:
    """Registry, fleet, audit, rollout engine and approval desk over the control plane's files."""

    settings: ControlSettings
    writer: Writer
    fleet: FleetStore
    audit: AuditLog
    registry: ModelRegistry
    engine: RolloutEngine
    approvals: ApprovalDesk
    pipeline: PipelineScreen

    def promote(
        self, version: int, *, actor: str, force: bool, reason: str
    ) -> tuple[int, GateReport]:
        """Start a rollout of `version` if the gate passes (or `force`); return its id."""
        report = judge_version(
            self.registry, self.audit, version, self.settings.gate.config(), actor=actor
        )
        if not report.passed and not force:
            raise RolloutError(f"version {version} does not pass the gate: {report.summary()}")
        plan = self.settings.rollout.plan()
        # Screened for the record, not held: the person who would approve it is asking.
        verdict = self.pipeline.promotion(report, plan, fleet_sites=len(self.fleet.list()))
        rollout_id = self.engine.start(
            version,
            actor=actor,
            plan=plan,
            gate_report={
                **report.to_dict(),
                "forced": force,
                "reason": reason,
                "screening": verdict.screening.to_dict(),
            },
        )
        return rollout_id, report

    def last_completed_rollout(self) -> int | None:
        """Return the newest completed rollout, the one a model rollback undoes."""
        completed = self.engine.store.ids(statuses=("completed",))
        return completed[-1] if completed else None


def open_local(config: Path | None, flags: dict[str, object] | None = None) -> LocalPlane:
    """Open the control plane's state from its settings."""
    settings = load_control_settings(config, flags)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    writer = Writer(open_control_db(settings.state_dir))
    fleet = FleetStore(writer)
    audit = AuditLog(writer)
    registry = SqliteRegistry.open(settings.registry_dir)
    approvals = ApprovalDesk(writer, audit)
    rollouts = RolloutStore(writer)
    pipeline = PipelineScreen.from_settings(settings.risk, rollouts, approvals, audit)
    engine = RolloutEngine(rollouts, fleet, registry, audit, DeferredCourier(), screen=pipeline)
    return LocalPlane(
        settings=settings,
        writer=writer,
        fleet=fleet,
        audit=audit,
        registry=registry,
        engine=engine,
        approvals=approvals,
        pipeline=pipeline,
    )
