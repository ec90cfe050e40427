"""How each `--chaos` fault is done to the running demo, and undone.

- A kill is SIGKILL to the role's process group (the agent with its SuperNode and MQTT
  receiver, the aggregator with its SuperLink, the control plane with its dashboard): no
  clean stop, as a power cut. After the hold, the same command is started again and the
  fault has recovered once the role says it is up (in what it logged since the restart).
- A link drop severs the site's relays (control plane and MQTT): connections reset, new
  ones refused. It has recovered once the agent has subscribed to its broker again.
- A full disk: making a small filesystem needs root, so the disk's limit is the kernel's
  file-size limit (RLIMIT_FSIZE, lowered on the running agent with prlimit): no file of the
  agent may grow past the size of its store plus `disk_headroom_bytes`. The store's
  write-ahead log is checkpointed and truncated first, so it starts from nothing and runs
  into that limit within seconds of ingest. Past it every write fails as on a full disk
  (SQLite: "disk I/O error"); the agent must hold on (retry, acknowledge nothing it could
  not store), not crash. Freeing the space restores the limit.
"""

from __future__ import annotations

import contextlib
import resource
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeward.demo.chaos import Fault, FaultHandler, FaultKind
from edgeward.errors import EdgewardError

if TYPE_CHECKING:
    from edgeward.demo.runner import DemoRun

STORE_FILE = "agent.db"
BUSY_TIMEOUT_S = 10.0
DISK_ERRORS = ("disk I/O error", "database or disk is full", "File too large")
RECONNECTED = "subscribed to"
AGENT_READY = (RECONNECTED, "SuperNode started")
READY_LOG: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.CONTROL_PLANE_KILL: ("dashboard serving on",),
    # A restarted SuperLink keeps the SuperNode keys it admitted, so "admitted" is not logged.
    FaultKind.AGGREGATOR_KILL: ("SuperLink serving on",),
    FaultKind.AGENT_KILL: AGENT_READY,
}
"""What a restarted role logs (since its restart) once it is up."""


class FaultError(EdgewardError):
    """A fault could not be injected or undone."""


class RoleKill:
    """SIGKILL a role's process group; start it again after the hold."""

    def __init__(self, run: DemoRun) -> None:
        self._run = run

    def begin(self, fault: Fault) -> dict[str, Any]:
        """SIGKILL the role's process group (marked down on purpose, not a death)."""
        role = self._run.role(fault.target)
        pid = role.process.pid if role.process is not None else None
        self._run.down_on_purpose.add(fault.target)
        role.kill()
        return {"pid": pid}

    def end(self, fault: Fault, begun: dict[str, Any]) -> dict[str, Any]:
        """Start the role again and wait until it says it is up (raise if it does not)."""
        role = self._run.role(fault.target)
        started = time.monotonic()
        since = role.log_size()
        try:
            role.start()
            for text in READY_LOG.get(fault.kind, AGENT_READY):
                role.wait_for_log(text, self._run.chaos_timings.restart_timeout_s, since=since)
        finally:
            self._run.down_on_purpose.discard(fault.target)  # from now on, a death is a death
        return {"killed_pid": begun.get("pid"), "restart_s": round(time.monotonic() - started, 1)}


class LinkDrop:
    """Sever a site's relays; restore them after the hold."""

    def __init__(self, run: DemoRun) -> None:
        self._run = run

    def begin(self, fault: Fault) -> dict[str, Any]:
        """Cut the site's control-plane and MQTT links."""
        relays = self._run.links.of(fault.target)
        if not relays:
            raise FaultError(f"{fault.target} has no relay to cut (the demo runs without chaos)")
        cuts = sum(relay.cuts for relay in relays)
        for relay in relays:
            relay.sever()
        return {"cuts": cuts, "log_offset": self._run.agent(fault.target).log_size()}

    def end(self, fault: Fault, begun: dict[str, Any]) -> dict[str, Any]:
        """Restore the links and wait until the agent is subscribed to its broker again."""
        relays = self._run.links.of(fault.target)
        for relay in relays:
            relay.restore()
        if self._run.links.mqtt:
            self._run.agent(fault.target).wait_for_log(
                RECONNECTED, self._run.chaos_timings.restart_timeout_s, since=begun["log_offset"]
            )
        return {
            "links": [relay.name for relay in relays],
            "connections_cut": sum(relay.cuts for relay in relays) - int(begun["cuts"]),
        }


class DiskFull:
    """Fill a site's disk to within headroom of its limit; free it after the hold."""

    def __init__(self, run: DemoRun) -> None:
        self._run = run

    def begin(self, fault: Fault) -> dict[str, Any]:
        """Truncate the store's WAL; limit the agent's files to the store's size + headroom."""
        agent = self._run.agent(fault.target)
        if agent.process is None or not agent.running:
            raise FaultError(f"the agent of {fault.target} is not running")
        store = self._run.layout.site_dir(fault.target) / STORE_FILE
        truncated = _truncate_wal(store)
        limit = store.stat().st_size + self._run.chaos_timings.disk_headroom_bytes
        soft, hard = resource.prlimit(agent.process.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(agent.process.pid, resource.RLIMIT_FSIZE, (limit, hard))
        return {
            "pid": agent.process.pid,
            "soft": soft,
            "hard": hard,
            "limit_bytes": limit,
            "wal_truncated": truncated,
            "log_offset": agent.log_size(),
        }

    def end(self, fault: Fault, begun: dict[str, Any]) -> dict[str, Any]:
        """Free the space (restore the limit); fail if the agent did not survive."""
        agent = self._run.agent(fault.target)
        survived = agent.process is not None and agent.process.pid == begun["pid"] and agent.running
        if survived:
            resource.prlimit(begun["pid"], resource.RLIMIT_FSIZE, (begun["soft"], begun["hard"]))
        logged = agent.log_text(begun["log_offset"])
        failures = sum(logged.count(error) for error in DISK_ERRORS)
        if not survived:
            raise FaultError(f"the agent of {fault.target} did not survive a full disk")
        return {
            "limit_bytes": begun["limit_bytes"],
            "wal_truncated": begun["wal_truncated"],
            "disk_errors_logged": failures,
        }


def _truncate_wal(store: Path) -> bool:
    """Checkpoint the store's WAL into it and truncate the WAL; return whether it was done."""
    try:
        with contextlib.closing(sqlite3.connect(store, timeout=BUSY_TIMEOUT_S)) as conn:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error:
        return False
    return not busy


def fault_handlers(run: DemoRun) -> dict[FaultKind, FaultHandler]:
    """Return the handler of every fault kind, acting on `run`."""
    kill = RoleKill(run)
    return {
        FaultKind.AGENT_KILL: kill,
        FaultKind.AGGREGATOR_KILL: kill,
        FaultKind.CONTROL_PLANE_KILL: kill,
        FaultKind.LINK_DROP: LinkDrop(run),
        FaultKind.DISK_FULL: DiskFull(run),
    }
