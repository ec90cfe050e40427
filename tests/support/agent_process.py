"""Run `edgeward agent run` as a real process for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from edge_agent.store import AgentStore, IngestStatus, read_status

READY_LINE = "subscribed to"


class AgentProcess:
    """One agent daemon in its own process group, so a test can kill all of it at once."""

    def __init__(self, config_file: Path, data_dir: Path, log_file: Path) -> None:
        self.config_file = config_file
        self.data_dir = data_dir
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self._ready_seen = 0
        self._ready_line = READY_LINE

    def start(
        self, *, wait_ready: bool = True, timeout: float = 60.0, ready_line: str = READY_LINE
    ) -> None:
        """Start the daemon; by default wait until it has subscribed to the broker."""
        self._ready_line = ready_line
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edgeward",
                    "agent",
                    "run",
                    "--config",
                    str(self.config_file),
                ],
                stdout=sink,
                stderr=sink,
                start_new_session=True,
            )
        if wait_ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the next 'subscribed' line in the agent's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.log_text().count(self._ready_line)
            if seen > self._ready_seen:
                self._ready_seen = seen
                return
            if not self.running:
                raise RuntimeError(f"the agent exited:\n{self.log_text()[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"the agent did not subscribe:\n{self.log_text()[-3000:]}")

    @property
    def running(self) -> bool:
        """Return whether the daemon process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """Return what the agent logged so far."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def kill_all(self) -> None:
        """SIGKILL the daemon and its MQTT receiver: the abrupt end of a power cut."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        """Send SIGTERM and return the exit code of a clean stop."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def status(self) -> IngestStatus:
        """Read the agent's store as `edgeward agent status` does."""
        store = AgentStore.open_read_only(self.data_dir)
        try:
            return read_status(store, now=time.time())
        finally:
            store.close()

    def wait_until(self, predicate: Callable[[IngestStatus], bool], timeout: float) -> IngestStatus:
        """Poll the store until `predicate` holds; return the last status."""
        deadline = time.monotonic() + timeout
        status = self.status()
        while not predicate(status):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; last status {status}")
            time.sleep(0.25)
            status = self.status()
        return status
