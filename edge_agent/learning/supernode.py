"""Run the site's Flower SuperNode as a supervised child process.

The SuperNode connects to the aggregator's SuperLink (TLS with the project CA, and node
authentication with the site's key where configured) and runs the Edgeward ClientApp for each
message it receives. If it dies, it is restarted with jittered backoff; its node config tells
the ClientApp where this site's store is.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgeward.backoff import Backoff
from edgeward.flower_processes import (
    detached_groups,
    flower_environment,
    flower_executable,
    kill_groups,
)

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 15.0
HEALTHY_AFTER_S = 60.0  # a SuperNode that ran this long resets the backoff


@dataclass(kw_only=True, slots=True, frozen=True)
class SuperNodeOptions:
    """How to start the SuperNode."""

    superlink: str
    runtime_port: int
    node_config: dict[str, str]
    log_file: Path
    root_certificates: Path | None = None
    insecure: bool = False
    auth_private_key: Path | None = None
    auth_public_key: Path | None = None
    restart_min_s: float = 1.0
    restart_max_s: float = 60.0
    extra_args: tuple[str, ...] = field(default=())

    def command(self) -> list[str]:
        """Return the command line of `flower-supernode`."""
        config = " ".join(f'{key}="{value}"' for key, value in self.node_config.items())
        args = [
            flower_executable("flower-supernode"),
            "--superlink",
            self.superlink,
            "--port",
            str(self.runtime_port),
            "--node-config",
            config,
        ]
        if self.insecure:
            args.append("--insecure")
        elif self.root_certificates is not None:
            args += ["--root-certificates", str(self.root_certificates)]
        if self.auth_private_key is not None and self.auth_public_key is not None:
            args += [
                "--auth-supernode-private-key",
                str(self.auth_private_key),
                "--auth-supernode-public-key",
                str(self.auth_public_key),
            ]
        return [*args, *self.extra_args]


class SuperNodeSupervisor:
    """Keep one SuperNode running; restart it with backoff when it exits on its own."""

    def __init__(self, options: SuperNodeOptions) -> None:
        self.options = options
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """Return the running SuperNode's process id, if any."""
        with self._lock:
            return self._process.pid if self._process and self._process.poll() is None else None

    def start(self) -> None:
        """Start the SuperNode and watch it."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._supervise, name="supernode", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the SuperNode (SIGTERM, then SIGKILL after a grace period)."""
        self._stop.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            detached = detached_groups(process.pid)  # ClientApps it started in their sessions
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            kill_groups(detached)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
            self._thread = None

    def _supervise(self) -> None:
        backoff = Backoff(self.options.restart_min_s, self.options.restart_max_s)
        while not self._stop.is_set():
            began = time.monotonic()
            code = self._spawn().wait()
            if self._stop.is_set():
                return
            if time.monotonic() - began > HEALTHY_AFTER_S:
                backoff.reset()
            with self._lock:
                self._process = None
            self.restarts += 1
            delay = backoff.next_delay()
            log.warning("the SuperNode exited with code %s; restarting it in %.1f s", code, delay)
            if self._stop.wait(delay):
                return

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.options.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.options.log_file.open("ab") as sink:
            process = subprocess.Popen(  # noqa: S603 - Flower's own executable
                self.options.command(), stdout=sink, stderr=sink, env=flower_environment()
            )
        with self._lock:
            self._process = process
        log.info("SuperNode started (pid %d) for %s", process.pid, self.options.superlink)
        return process
