"""mosquitto as the demo's local broker under `--chaos`, when it is installed.

The embedded amqtt broker gives up on a QoS 1 message it delivered if the subscriber has not
acknowledged it within 5 s (hard-coded in amqtt 0.11), and drops it. An agent holds its
acknowledgements until its store has committed, so an agent whose disk is full, or that is
killed with messages in flight, lost them there (found by `--chaos`: hundreds of readings
over one 25 s disk-full fault). mosquitto keeps an unacknowledged message in flight and
sends it again when the client is back, as MQTT requires; with unlimited queues it keeps
everything for a persistent session that is away.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from edgeward.demo.broker import EmbeddedBroker
from edgeward.demo.layout import free_port
from edgeward.demo.processes import DemoProcessError

log = logging.getLogger(__name__)
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
FALLBACK = Path("/usr/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """Return the mosquitto binary, if installed."""
    return shutil.which("mosquitto") or (str(FALLBACK) if FALLBACK.exists() else None)


def local_broker(workdir: Path, *, chaos: bool) -> EmbeddedBroker | MosquittoBroker:
    """Return the broker the demo runs itself: mosquitto under chaos if installed, else amqtt."""
    binary = find_mosquitto() if chaos else None
    if binary is not None:
        return MosquittoBroker(binary, workdir)
    if chaos:
        log.warning("no mosquitto: amqtt drops what an agent leaves unacknowledged for 5 s")
    return EmbeddedBroker()


class MosquittoBroker:
    """Run mosquitto on 127.0.0.1, anonymous, in memory, with unlimited queues."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the broker URL for agents and simulators."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Write its settings, start it and wait until it listens."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "max_queued_messages 0",  # stock mosquitto drops past 1000 queued per client
            "max_inflight_messages 0",
            f"log_dest file {self.workdir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it switches to a user that cannot write its log
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(  # noqa: S603 - the installed broker, our settings
            [self.binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise DemoProcessError(f"mosquitto did not start; see {self.workdir}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT_S)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
