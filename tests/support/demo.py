"""Run the real `edgeward demo --headless` command for the integration tests."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class DemoRun:
    """A finished demo: its exit code, what it wrote to stderr, and its report (if any)."""

    returncode: int
    stderr: str
    report: dict[str, Any] | None


def run_headless_demo(
    root: Path, *flags: str, duration_s: float, timeout_s: float, interval_s: float = 40
) -> DemoRun:
    """Run the headless demo under `root` for `duration_s` and return how it ended."""
    report_file = root / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeward",
            "demo",
            "--headless",
            *flags,
            "--duration",
            str(duration_s),
            "--data-dir",
            str(root / "demo"),
            "--report",
            str(report_file),
            "--interval-s",
            str(interval_s),
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    return DemoRun(returncode=result.returncode, stderr=result.stderr, report=report)


def assert_every_reading_accounted_for(report: dict[str, Any]) -> None:
    """Assert that each site stored or rightly quarantined every reading it was sent."""
    for site in report["message_accounting"]["mqtt"].values():
        assert site["lost"] == 0, site
        assert site["acknowledged_readings"] > 0
        # A good reading may be quarantined as a conflicting duplicate (see the report).
        assert site["stored"] + site["good_quarantined"] == site["acknowledged_readings"], site


def leftover_processes(root: Path) -> str:
    """Return the command lines of processes still running from the demo under `root`."""
    found = subprocess.run(
        ["pgrep", "-af", str(root / "demo")], capture_output=True, text=True, check=False
    )
    return found.stdout.strip()
