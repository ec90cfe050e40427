"""Run each role as the real `edgeward` command, in its own process group, logging to a file.

Children run in their own sessions, so Ctrl-C reaches only the demo, which then stops them by
their ids: SIGTERM for a clean stop, and SIGKILL for the group (a SuperNode, a SuperLink)
if one does not stop in time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edgeward.errors import EdgewardError
from edgeward.flower_processes import detached_groups, kill_groups

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 30.0


class DemoProcessError(EdgewardError):
    """A role of the demo did not start."""


class RoleProcess:
    """`python -m edgeward <args>` for one role of the demo."""

    def __init__(self, name: str, args: list[str], log_file: Path) -> None:
        self.name = name
        self.args = args
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self._detached: set[int] = set()

    def start(self) -> RoleProcess:
        """Start the process with its output appended to its log file."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                [sys.executable, "-m", "edgeward", *self.args],
                stdout=sink,
                stderr=sink,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        """Return whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_text(self, since: int = 0) -> str:
        """Return what it logged so far (from byte `since` on)."""
        if not self.log_file.exists():
            return ""
        with self.log_file.open("rb") as file:
            file.seek(since)
            return file.read().decode(errors="replace")

    def log_size(self) -> int:
        """Return the log's size now: where what it logs next begins."""
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def wait_for_log(self, text: str, timeout: float, *, since: int = 0) -> None:
        """Wait until `text` is in the log (past byte `since`); raise if it exits or times out.

        A restarted role appends to the same log, so its readiness is looked for in what it
        wrote since the restart.
        """
        deadline = time.monotonic() + timeout
        while text not in self.log_text(since):
            if not self.running:
                raise DemoProcessError(f"{self.name} exited at start; see {self.log_file}")
            if time.monotonic() > deadline:
                raise DemoProcessError(
                    f"{self.name} did not start in {timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(0.2)

    def request_stop(self) -> None:
        """Send SIGTERM (a clean stop) if it runs."""
        if self.running and self.process is not None:
            # Looked up now: once it has exited, what Flower detached from it is orphaned
            # and no longer found under it.
            self._detached = detached_groups(self.process.pid)
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Wait for the stop; past `timeout`, SIGKILL the process group."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            self.kill()
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything it left behind
        kill_groups(self._detached)

    def kill(self) -> None:
        """SIGKILL the process, its group, and the groups Flower detached from it."""
        if self.process is None:
            return
        detached = detached_groups(self.process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        kill_groups(detached)
        self.process.wait(STOP_TIMEOUT_S)


def stop_all(processes: list[RoleProcess]) -> None:
    """Stop processes in order: each is asked to stop, then waited for."""
    for process in processes:
        process.request_stop()
    for process in processes:
        process.wait_stopped()
