"""`edgeward demo --headless`: the whole story, end to end, and the report's guarantees.

One run of the real command: a CA, the embedded broker, the control plane with its dashboard
and API, the aggregator's TLS SuperLink, three agents with their SuperNodes and simulators,
the story's faults and the scripted operator. About 150 s of story held a
first promotion, the degraded challenger's automatic rollback and a round of approvals on an
idle machine; 180 s leaves room for a loaded one (the first federated run took 65-125 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.demo import (
    assert_every_reading_accounted_for,
    leftover_processes,
    run_headless_demo,
)

pytestmark = pytest.mark.integration
DURATION_S = 180


@pytest.mark.timeout(DURATION_S + 360)
def test_the_headless_demo_tells_the_whole_story_and_loses_nothing(tmp_path: Path) -> None:
    run = run_headless_demo(tmp_path, duration_s=DURATION_S, timeout_s=DURATION_S + 300)
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Dashboard: http://127.0.0.1:" in run.stderr
    assert "stopped cleanly" in run.stderr
    report = run.report
    assert report is not None

    assert report["messages_lost"] == 0, report["message_accounting"]
    assert_every_reading_accounted_for(report)
    assert report["records_ingested"] > 0
    assert sum(report["quarantined_by_reason"].values()) > 0

    assert report["training"]["by_status"].get("completed", 0) >= 1
    assert report["promotions"], "a challenger went through the canary to the fleet"
    degraded = report["degraded_challenger"]["version"]
    rollback = next(r for r in report["automatic_rollbacks"] if r["version"] == degraded)
    assert rollback["reason"].startswith("live regression in wave 0")
    assert len(rollback["sites_that_ran_it"]) == 1, "only the canary ran the degraded model"
    assert not report["unfinished_rollouts"]

    assert sum(report["decisions_by_risk"].values()) > 0
    approvals = report["approvals"]
    assert approvals["approved"] >= 1
    assert approvals["denied"] >= 1
    assert approvals["pending"] == 0, "every held decision was resolved"
    assert report["errors"] == []

    # Ctrl-C / the end of the run left no process of the demo behind.
    assert leftover_processes(tmp_path) == ""
