"""`edgeward demo --headless --chaos`: faults of every kind, and the guarantees still hold.

One run of the real command with the fault injector on: once a
champion serves, it SIGKILLs and restarts an agent, the aggregator and the control plane,
cuts a site's link (its relays to the control plane and the broker) and fills a site's disk
(a file-size limit on the running agent), one at a time. The run goes on past `--duration`
until every kind was injected once, so the test does not depend on how fast the first
champion came. The report must count each kind and every guarantee must hold: nothing
acknowledged lost, no decision run twice, every site with a model that forecasts, every
rollout ended, every fault recovered. The broker is mosquitto (the demo picks it under
`--chaos`; the other integration tests need it too). The 15-minute run of issue 7 is the
same command with `--duration 900`. The same run checks that the story still plays out (a
promotion, the degraded challenger's automatic rollback, answered approvals), so a separate
fault-free run is not needed in CI, whose tests must stay under 15 minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.demo import (
    assert_every_reading_accounted_for,
    leftover_processes,
    run_headless_demo,
)

pytestmark = pytest.mark.integration
DURATION_S = 60
RUN_TIMEOUT_S = 1200  # the first champion alone took 3-6 min on a loaded 2-core machine
KINDS = ("agent_kill", "aggregator_kill", "control_plane_kill", "link_drop", "disk_full")


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_chaos_injects_every_kind_of_fault_and_every_guarantee_holds(tmp_path: Path) -> None:
    run = run_headless_demo(
        tmp_path,
        "--chaos",
        "--chaos-seed",
        "7",
        duration_s=DURATION_S,
        timeout_s=RUN_TIMEOUT_S,
    )
    assert run.report is not None, run.stderr[-4000:]
    report = run.report
    guarantees = report["guarantees"]
    broken = {k: v for k, v in guarantees.items() if k != "all_hold" and v["ok"] is not True}
    assert not broken, json.dumps(broken, indent=1)[:4000]
    assert guarantees["all_hold"]
    assert run.returncode == 0, run.stderr[-4000:]

    faults = report["faults"]
    assert all(faults["by_kind"][kind] >= 1 for kind in KINDS), faults["by_kind"]
    assert all(fault["recovered"] for fault in faults["injected"])
    link = next(f for f in faults["injected"] if f["kind"] == "link_drop")
    assert link["evidence"]["connections_cut"] >= 1, "the site's open connections were cut"

    assert_every_reading_accounted_for(report)
    assert report["message_accounting"]["decision_reports"]["outbox_undelivered"] == 0
    assert not report["unfinished_rollouts"]

    # The story played out through the faults: data in, bad records quarantined with their
    # reasons, a challenger trained and promoted, the degraded one rolled back by the engine
    # alone after its canary, and the held decisions answered by the scripted operator.
    assert "Dashboard: http://127.0.0.1:" in run.stderr
    assert report["records_ingested"] > 0
    assert sum(report["quarantined_by_reason"].values()) > 0
    assert report["training"]["by_status"].get("completed", 0) >= 1
    assert report["promotions"], "a challenger went through the canary to the fleet"
    degraded = report["degraded_challenger"]["version"]
    rollback = next(r for r in report["automatic_rollbacks"] if r["version"] == degraded)
    assert rollback["reason"].startswith("live regression in wave 0")
    approvals = report["approvals"]
    assert approvals["approved"] + approvals["denied"] >= 1
    assert approvals["pending"] == 0, "every held decision was resolved"

    # The end of the run left no process of the demo behind, restarted ones included.
    assert leftover_processes(tmp_path) == ""
