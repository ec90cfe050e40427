"""Run a real mosquitto broker for tests and benchmarks: loopback, free port, stopped by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass(kw_only=True, slots=True, frozen=True)
class BrokerTls:
    """Certificate files for a TLS listener."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = True


@dataclass(kw_only=True, slots=True)
class Mosquitto:
    """A running broker; `stop()` ends the process it started, by PID."""

    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    tls: BrokerTls | None = None
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the broker URL for agents and the simulator."""
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Start the broker again on the same port with the same configuration."""
        self.stop()
        self.process = _launch(self.log_file.parent / "mosquitto.conf", self.port)

    def stop(self) -> None:
        """Terminate the broker and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_mosquitto(workdir: Path, *, tls: BrokerTls | None = None) -> Mosquitto:
    """Start mosquitto on a free loopback port, configured not to drop queued QoS 1 messages.

    Stock mosquitto keeps at most 1000 queued messages per client and silently drops the rest
    under bursts; unlimited queues (`max_queued_messages 0`) keep every acknowledged message
    for a subscriber that is slow or offline.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = workdir / "mosquitto.log"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "max_inflight_messages 0",
        f"log_dest file {log_file}",
        "log_type error",
        "log_type warning",
        "log_type notice",
    ]
    if os.geteuid() == 0:
        # As root, mosquitto would switch to the `mosquitto` user, which cannot read the
        # test's private keys in a root-only temporary folder.
        lines.append("user root")
    if tls is not None:
        lines += [
            f"cafile {tls.ca_file}",
            f"certfile {tls.cert_file}",
            f"keyfile {tls.key_file}",
            f"require_certificate {'true' if tls.require_certificate else 'false'}",
            "use_identity_as_username true",
        ]
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return Mosquitto(port=port, process=_launch(conf, port), log_file=log_file, tls=tls)


def _launch(conf: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        _, err = process.communicate(5)
        raise RuntimeError(f"mosquitto did not start: {err.decode(errors='replace')}") from None
    return process
