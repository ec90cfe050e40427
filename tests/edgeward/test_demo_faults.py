"""`--chaos` faults on a real process: a full disk bites a writer and is undone; no crash."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edgeward.demo.chaos import Fault, FaultKind
from edgeward.demo.faults import DiskFull, FaultError
from edgeward.demo.options import ChaosTimings

# A stand-in for an agent: commits a 2 KB row every 20 ms, logs each failure, never gives up.
WRITER = """
import os, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
while True:
    try:
        conn.execute("INSERT INTO t VALUES (?)", (os.urandom(2048),))
        print("ok", flush=True)
    except sqlite3.Error as err:
        print(f"store write failed ({err})", flush=True)
    time.sleep(0.02)
"""


@dataclass
class FakeRole:
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_size(self) -> int:
        return self.log_file.stat().st_size

    def log_text(self, since: int = 0) -> str:
        return self.log_file.read_bytes()[since:].decode(errors="replace")


@dataclass
class FakeLayout:
    root: Path

    def site_dir(self, site: str) -> Path:
        return self.root / site


@dataclass
class FakeRun:
    layout: FakeLayout
    roles: dict[str, FakeRole] = field(default_factory=dict)
    chaos_timings: ChaosTimings = field(default_factory=lambda: ChaosTimings(disk_headroom_bytes=0))

    def agent(self, site: str) -> FakeRole:
        return self.roles[site]


def _writer(site_dir: Path) -> FakeRole:
    site_dir.mkdir(parents=True)
    log_file = site_dir / "agent.log"
    with log_file.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(site_dir / "agent.db")], stdout=sink, stderr=sink
        )
    deadline = time.monotonic() + 30
    while "ok" not in log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return FakeRole(process=process, log_file=log_file)


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until `predicate` holds (no timed assertion: the timeout only bounds a failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_full_disk_makes_writes_fail_and_freeing_it_lets_them_through(tmp_path: Path) -> None:
    run = FakeRun(layout=FakeLayout(tmp_path))
    role = _writer(tmp_path / "site-1")
    run.roles["site-1"] = role
    fault = Fault(kind=FaultKind.DISK_FULL, target="site-1", gap_s=0, hold_s=0)
    handler = DiskFull(run)  # type: ignore[arg-type]
    try:
        begun = handler.begin(fault)
        assert begun["wal_truncated"]
        soft, _ = resource.prlimit(role.process.pid, resource.RLIMIT_FSIZE)
        assert soft == begun["limit_bytes"] == (tmp_path / "site-1" / "agent.db").stat().st_size
        assert _wait_for(lambda: "disk I/O error" in role.log_text(begun["log_offset"]))
        evidence = handler.end(fault, begun)
        assert evidence["disk_errors_logged"] >= 1
        assert resource.prlimit(role.process.pid, resource.RLIMIT_FSIZE)[0] == begun["soft"]
        after = role.log_size()
        assert _wait_for(lambda: "ok" in role.log_text(after)), "writes go through again"
        assert role.running, "the writer lived through the full disk"
    finally:
        role.process.kill()
        role.process.wait(10)
    with sqlite3.connect(tmp_path / "site-1" / "agent.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_disk_on_a_dead_agent_is_a_fault_error_not_a_crash(tmp_path: Path) -> None:
    run = FakeRun(layout=FakeLayout(tmp_path))
    role = _writer(tmp_path / "site-2")
    role.process.kill()
    role.process.wait(10)
    run.roles["site-2"] = role
    fault = Fault(kind=FaultKind.DISK_FULL, target="site-2", gap_s=0, hold_s=0)
    with pytest.raises(FaultError, match="not running"):
        DiskFull(run).begin(fault)  # type: ignore[arg-type]
