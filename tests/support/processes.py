"""Run an `edgeward` command as a real process in its own group, with its log in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class EdgewardProcess:
    """`python -m edgeward <args>`; stop with SIGTERM, or SIGKILL the whole group."""

    def __init__(self, args: list[str], log_file: Path) -> None:
        self.args = args
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> EdgewardProcess:
        """Start (again)."""
        with self.log_file.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "edgeward", *self.args],
                stdout=sink,
                stderr=sink,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        """Return whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """Return what it logged so far."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 60.0, *, count: int = 1) -> None:
        """Wait until `text` has appeared `count` times in the log."""
        deadline = time.monotonic() + timeout
        while self.log_text().count(text) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not logged; log ends:\n{self.log_text()[-3000:]}")
            if not self.running:
                raise RuntimeError(f"the process exited; log ends:\n{self.log_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the process and everything it started."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; return the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)
