"""A decision's outcome reaches the outbox even if storing its report failed the first time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.decisions.engine import DecisionEngine
from edge_agent.decisions.journal import DecisionJournal
from edge_agent.store import AgentStore
from edge_agent.store.agent_store import STORE_FILE
from edge_agent.store.migrations import AGENT_MIGRATIONS
from edge_agent.transport import Outbox
from edgeward.risk.screening import RiskScreener
from edgeward.store import apply_migrations, open_database
from edgeward.wire import ApprovalVerdict
from tests.edge_agent.test_decision_engine import ListSink, decision
from tests.edge_agent.test_transport import OfflineLink
from tests.fakes.clock import FakeClock
from tests.fakes.full_disk import FullDiskOutbox


class Agent:
    """One agent's decision path over a real store and a real (offline) outbox."""

    def __init__(self, store: AgentStore) -> None:
        self.clock = FakeClock(1_000_000.0)
        self.sink = ListSink()
        self.outbox = FullDiskOutbox(Outbox(store, OfflineLink(), clock=self.clock))
        self.engine = DecisionEngine(
            site="site-1",
            journal=DecisionJournal(store, clock=self.clock),
            screener=RiskScreener(),
            sink=self.sink,
            send=self.outbox.put,
            clock=self.clock,
        )

    def approve(self, decision_id: str) -> None:
        self.engine.on_verdict(
            ApprovalVerdict(
                decision_id=decision_id,
                site="site-1",
                risk="high",
                approved=True,
                payload={"actor": "admin"},
            )
        )

    def status(self, decision_id: str) -> str:
        row = self.engine.journal.get(decision_id)
        assert row is not None
        return row.status


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AgentStore]:
    store = AgentStore.open(tmp_path)
    yield store
    store.close()


def test_an_approved_outcome_lost_to_a_full_disk_is_sent_on_the_next_pass_once(
    store: AgentStore, caplog: pytest.LogCaptureFixture
) -> None:
    agent = Agent(store)
    agent.engine.propose(decision("d-1", peak_hour=True))
    agent.engine.ask_pending()
    agent.outbox.fail_ids[".executed"] = 1  # the disk fills up just as the approval arrives

    with caplog.at_level(logging.WARNING, logger="edge_agent.decisions.engine"):
        agent.approve("d-1")

    assert agent.sink.executed == ["d-1"]
    assert agent.status("d-1") == "executed"
    assert "d-1.executed" not in agent.outbox.ids()
    assert "reporting decision d-1 as executed failed (disk I/O error)" in caplog.text

    assert agent.engine.report_unreported() == 1
    assert agent.engine.report_unreported() == 0, "sent once"
    assert agent.outbox.ids() == ["d-1.held", "d-1.ask", "d-1.approved", "d-1.executed"]
    assert agent.sink.executed == ["d-1"], "reporting again never runs the action again"


def test_a_report_that_keeps_failing_is_retried_without_failing_the_decision(
    store: AgentStore,
) -> None:
    agent = Agent(store)
    agent.outbox.fail_ids[".executed"] = 2

    agent.engine.propose(decision("d-2"))  # low risk: runs at once; the report fails
    assert agent.engine.report_unreported() == 0  # still failing: logged, kept for later
    assert agent.engine.report_unreported() == 1

    assert agent.sink.executed == ["d-2"]
    assert agent.outbox.ids() == ["d-2.executed"]


def test_a_restart_sends_an_outcome_that_was_never_stored(tmp_path: Path) -> None:
    store = AgentStore.open(tmp_path)
    before = Agent(store)
    before.outbox.fail_ids[".executed"] = 1
    before.engine.propose(decision("d-3", peak_hour=True))
    before.approve("d-3")
    store.close()

    reopened = AgentStore.open(tmp_path)
    try:
        after = Agent(reopened)
        assert after.engine.report_unreported() == 1
        assert "d-3.executed" in after.outbox.ids()
        assert after.status("d-3") == "executed"
        assert after.sink.executed == []
    finally:
        reopened.close()


def test_decisions_recorded_before_the_upgrade_are_not_all_sent_again(tmp_path: Path) -> None:
    old = open_database(tmp_path / STORE_FILE)
    apply_migrations(old, AGENT_MIGRATIONS[:-1])  # a store written by the previous release
    old.execute(
        "INSERT INTO decisions (id, created_at, action, target, level, status, decision, "
        "screening, updated_at) VALUES ('old-1', 1, 'sleep_cell', 'cell-1', 'low', "
        "'executed', ?, '{}', 1)",
        (decision("old-1").model_dump_json(),),
    )
    old.conn.commit()
    old.conn.close()

    store = AgentStore.open(tmp_path)
    try:
        assert Agent(store).engine.report_unreported() == 0
    finally:
        store.close()
