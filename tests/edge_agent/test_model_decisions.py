"""Readings through the active model and the policy into screened decisions."""

from __future__ import annotations

from pathlib import Path

from certs import init_pki
from edge_agent.decisions.engine import DecisionEngine
from edge_agent.decisions.journal import DecisionJournal
from edge_agent.decisions.observer import DecisionSettings, ModelDecisions
from edge_agent.model_store import ModelStore, activate_bundle
from edge_agent.store import AgentStore
from edgeward.records import MetricRecord
from edgeward.risk import Action, Decision
from edgeward.risk.screening import RiskScreener
from edgeward.schema import load_schema
from tests.fakes.clock import FakeClock
from tests.support.models import archive_of, model_bundle

NOON = 1_717_416_000_000  # 2024-06-03 12:00 UTC, in ms


class ListSink:
    def __init__(self) -> None:
        self.executed: list[Decision] = []

    def execute(self, decision: Decision) -> None:
        self.executed.append(decision)


def reading(step: int, **metrics: float) -> MetricRecord:
    values = {"prb_util_dl": 40.0, "active_users": 120.0, "cpu_pct": 50.0, **metrics}
    return MetricRecord(source="cell-7", ts_ms=NOON + step * 60_000, metrics=values)


def test_an_overheating_node_is_proposed_once_per_cooldown_and_blocked_at_peak(
    tmp_path: Path,
) -> None:
    pki = init_pki(tmp_path / "pki", control_plane_address="tcp://127.0.0.1:7")
    models = ModelStore(tmp_path / "agent")
    bundle = model_bundle(tmp_path / "bundle", signing_key=pki.signing.private_key)
    activate_bundle(
        models,
        archive_of(bundle, tmp_path / "b.tar"),
        version=1,
        signing_key=pki.signing.public_key,
        schema_hash=load_schema().content_hash,
    )
    store = AgentStore.open(tmp_path / "agent")
    clock = FakeClock(NOON / 1000)
    sink = ListSink()
    engine = DecisionEngine(
        site="site-1",
        journal=DecisionJournal(store, clock=clock),
        screener=RiskScreener(),
        sink=sink,
        clock=clock,
    )
    observer = ModelDecisions(
        models=models, engine=engine, settings=DecisionSettings(cooldown_s=600), clock=clock
    )

    quiet = [d for step in range(40) for d in observer.observe(reading(step))]
    hot = [d for step in range(40, 45) for d in observer.observe(reading(step, cpu_pct=99.0))]

    assert quiet == [], "a calm cell calls for nothing"
    restarts = [d for d in hot if d.action is Action.RESTART_NODE]
    assert len(restarts) == 1, "once per cooldown"
    restart = restarts[0]
    assert restart.model_version == 1
    assert restart.evidence["cpu_pct"] == 99.0
    assert (restart.context.hour, restart.context.peak_hour) == (12, True)
    assert restart.context.users_affected == 120
    row = engine.journal.get(restart.id)
    assert row is not None
    assert (row.level, row.status) == ("critical", "blocked"), "irreversible at peak"
    executed = [d.action for d in sink.executed]
    assert executed == [Action.RAISE_ALARM], "the jump is an anomaly: the alarm runs, no restart"
    store.close()
