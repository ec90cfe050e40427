"""`edgeward demo --headless`: the whole story, end to end, and the report's guarantees.

One run of the real command: a CA, the embedded broker, the control plane with its dashboard
and API, the aggregator's TLS SuperLink, three agents with their SuperNodes and simulators,
the story's faults and the scripted operator. About 150 s of story held a
first promotion, the degraded challenger's automatic rollback and a round of approvals on an
idle machine; 180 s leaves room for a loaded one (the first federated run took 65-125 s).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
DURATION_S = 180


def test_the_headless_demo_tells_the_whole_story_and_loses_nothing(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeward",
            "demo",
            "--headless",
            "--duration",
            str(DURATION_S),
            "--data-dir",
            str(tmp_path / "demo"),
            "--report",
            str(report_file),
            "--interval-s",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=DURATION_S + 300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Dashboard: http://127.0.0.1:" in result.stderr
    assert "stopped cleanly" in result.stderr
    report = json.loads(report_file.read_text())

    assert report["messages_lost"] == 0, report["message_accounting"]
    for site in report["message_accounting"]["mqtt"].values():
        assert site["acknowledged_readings"] > 0
        assert site["stored"] == site["acknowledged_readings"]
        assert site["quarantined"] == site["acknowledged_bad"]
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
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""
