"""The agent's decision path after the policy: what runs, what waits, what never runs twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge_agent.decisions.engine import DecisionEngine
from edge_agent.decisions.journal import DecisionJournal
from edge_agent.store import AgentStore
from edgeward.cli.main import cli
from edgeward.risk import Decision, parse_decision
from edgeward.risk.screening import RiskScreener
from edgeward.wire import ApprovalRequest, ApprovalVerdict, DecisionReport, WireMessage
from tests.fakes.clock import FakeClock


class ListSink:
    """Record what was executed; fail when told to."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.fail = False

    def execute(self, decision: Decision) -> None:
        if self.fail:
            raise RuntimeError("the controller refused")
        self.executed.append(decision.id)


class Harness:
    def __init__(self, store: AgentStore) -> None:
        self.clock = FakeClock(1_000_000.0)
        self.sink = ListSink()
        self.sent: list[WireMessage] = []
        self.engine = DecisionEngine(
            site="site-1",
            journal=DecisionJournal(store, clock=self.clock),
            screener=RiskScreener(),
            sink=self.sink,
            send=self.sent.append,
            approval_timeout_s=60.0,
            clock=self.clock,
        )

    def status(self, decision: Decision) -> str:
        row = self.engine.journal.get(decision.id)
        assert row is not None
        return row.status

    def verdict(self, decision: Decision, *, approved: bool, **payload: Any) -> None:
        self.engine.on_verdict(
            ApprovalVerdict(
                decision_id=decision.id,
                site="site-1",
                risk="high",
                approved=approved,
                payload={"actor": "ops", **payload},
            )
        )

    def outcomes(self, decision: Decision) -> list[str]:
        return [
            str(m.payload["outcome"])
            for m in self.sent
            if isinstance(m, DecisionReport) and m.decision_id == decision.id
        ]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    store = AgentStore.open(tmp_path)
    yield Harness(store)
    store.close()


def decision(ident: str, **context: Any) -> Decision:
    return parse_decision(
        {
            "id": ident,
            "action": context.pop("action", "sleep_cell"),
            "target": "cell-1",
            "model_version": 3,
            "summary": "test decision",
            "context": {"hour": 3, "users_affected": 2, **context},
        }
    )


def test_a_low_risk_decision_runs_once_and_is_reported(harness: Harness) -> None:
    low = decision("d1")
    assert harness.engine.propose(low).level == "low"
    harness.engine.propose(low)  # the same decision again
    assert harness.sink.executed == ["d1"]
    assert harness.status(low) == "executed"
    assert harness.outcomes(low) == ["executed"]
    report = next(m for m in harness.sent if isinstance(m, DecisionReport))
    assert report.payload["decision"]["model_version"] == 3  # type: ignore[index]


def test_a_medium_risk_decision_runs_and_notifies(harness: Harness) -> None:
    medium = decision("d2", users_affected=300)
    harness.engine.propose(medium)
    assert harness.sink.executed == ["d2"]
    assert harness.outcomes(medium) == ["notified"]


def test_a_high_risk_decision_waits_and_runs_once_when_approved(harness: Harness) -> None:
    high = decision("d3", peak_hour=True)
    assert harness.engine.propose(high).level == "high"
    assert harness.sink.executed == []
    assert not any(isinstance(m, ApprovalRequest) for m in harness.sent), "asked off the path"
    assert harness.engine.ask_pending() == 1
    assert harness.engine.ask_pending() == 0, "asked once"
    requests = [m for m in harness.sent if isinstance(m, ApprovalRequest)]
    assert [r.decision_id for r in requests] == ["d3"]
    assert requests[0].payload["expires_at"] == pytest.approx(1_000_060.0)
    harness.verdict(high, approved=True)
    harness.verdict(high, approved=True)  # delivered twice
    harness.verdict(high, approved=False)  # a late contrary verdict
    assert harness.sink.executed == ["d3"]
    assert harness.status(high) == "executed"
    assert harness.outcomes(high) == ["held", "approved", "executed"]


def test_a_denied_decision_never_runs(harness: Harness) -> None:
    high = decision("d4", peak_hour=True)
    harness.engine.propose(high)
    harness.verdict(high, approved=False)
    harness.verdict(high, approved=True)
    assert harness.sink.executed == []
    assert harness.status(high) == "denied"


def test_an_unanswered_decision_expires_and_a_late_approval_does_not_run_it(
    harness: Harness,
) -> None:
    high = decision("d5", peak_hour=True)
    harness.engine.propose(high)
    harness.clock.advance(30)
    assert harness.engine.expire_overdue() == []
    harness.clock.advance(31)
    assert harness.engine.expire_overdue() == ["d5"]
    harness.verdict(high, approved=True)
    assert harness.sink.executed == []
    assert harness.status(high) == "expired"


def test_critical_runs_only_with_an_admin_override(harness: Harness) -> None:
    critical = decision("d6", protected_target=True)
    assert harness.engine.propose(critical).level == "critical"
    assert harness.status(critical) == "blocked"
    harness.verdict(critical, approved=True)
    assert harness.sink.executed == []
    harness.verdict(critical, approved=True, override=True)
    assert harness.sink.executed == ["d6"]


def test_a_failing_action_is_recorded_as_failed(harness: Harness) -> None:
    harness.sink.fail = True
    low = decision("d7")
    harness.engine.propose(low)
    assert harness.status(low) == "failed"
    assert harness.outcomes(low) == ["failed"]


def test_recent_actions_feed_the_conflict_rule(harness: Harness) -> None:
    harness.engine.propose(decision("d8", action="offload_traffic"))
    assert harness.engine.propose(decision("d9")).level == "high", "sleep after offload"


def test_the_request_carries_a_rationale_and_falls_back_when_the_model_fails(
    tmp_path: Path,
) -> None:
    store = AgentStore.open(tmp_path)
    sent: list[WireMessage] = []
    calls: list[str] = []

    def explain(d: Decision, level: str, reasons: Any) -> str:
        calls.append(d.id)
        if d.id == "bad":
            raise RuntimeError("llama.cpp crashed")
        return f"Hold {d.target}: {level}."

    engine = DecisionEngine(
        site="site-1",
        journal=DecisionJournal(store),
        screener=RiskScreener(),
        sink=ListSink(),
        send=sent.append,
        explain=explain,
    )
    engine.propose(decision("good", peak_hour=True))
    engine.propose(decision("bad", peak_hour=True))
    engine.ask_pending()
    rationales = {
        m.decision_id: m.payload["screening"]["rationale"]  # type: ignore[index,call-overload]
        for m in sent
        if isinstance(m, ApprovalRequest)
    }
    assert rationales["good"] == "Hold cell-1: high."
    assert str(rationales["bad"]).startswith("High risk: it takes service away during a peak hour")
    assert calls == ["good", "bad"]
    store.close()


def test_the_device_lists_its_decisions_offline(harness: Harness, tmp_path: Path) -> None:
    harness.engine.propose(decision("run-1"))
    harness.engine.propose(decision("held-1", peak_hour=True))
    runner = CliRunner()

    held = runner.invoke(
        cli, ["agent", "decisions", "--data-dir", str(tmp_path), "--status", "held", "--json"]
    )
    table = runner.invoke(cli, ["agent", "decisions", "--data-dir", str(tmp_path)])
    wrong = runner.invoke(cli, ["agent", "decisions", "--data-dir", str(tmp_path), "--status", "x"])

    assert held.exit_code == 0, held.output
    rows = json.loads(held.output)
    assert [(r["decision"]["id"], r["level"], r["status"]) for r in rows] == [
        ("held-1", "high", "held")
    ]
    assert "run-1" in table.output
    assert "held-1" in table.output
    assert wrong.exit_code != 0
    assert "one of executed" in wrong.output
