"""Run Flower's SuperLink and drive it through the `flwr` command (its Control API).

The SuperLink serves the Fleet, Control and Runtime APIs on one HTTPS port with a certificate
from the project CA. `flwr` finds it through a Flower Configuration file written into a
private FLWR_HOME under the aggregator's state folder, so nothing else is touched.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.errors import ConnectionFailed, EdgewardError
from edgeward.flower_processes import (
    detached_groups,
    flower_environment,
    flower_executable,
    kill_groups,
)

log = logging.getLogger(__name__)
CONNECTION = "edgeward"
READY_LINE = "Uvicorn running"
STOP_TIMEOUT_S = 20.0
FLWR_TIMEOUT_S = 120.0


@dataclass(kw_only=True, slots=True, frozen=True)
class SuperLinkOptions:
    """Where the SuperLink listens and with which certificate."""

    host: str
    port: int
    state_dir: Path
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    supernode_auth: bool = False
    simulation: bool = False

    @property
    def address(self) -> str:
        """Return host:port for SuperNodes and `flwr`."""
        return f"{self.host}:{self.port}"

    @property
    def flwr_home(self) -> Path:
        """Return the private FLWR_HOME holding the Flower Configuration."""
        return self.state_dir / "flwr-home"

    def command(self) -> list[str]:
        """Return the `flower-superlink` command line."""
        args = [
            flower_executable("flower-superlink"),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--database",
            str(self.state_dir / "superlink.db"),
            # Apps run in this environment; without this each run would `uv sync` its
            # dependencies (measured: it pulled a CUDA build of torch).
            "--disable-runtime-dependency-installation",
        ]
        if self.insecure:
            args.append("--insecure")
        else:
            args += [
                "--ssl-ca-certfile",
                str(self.ca_file),
                "--ssl-certfile",
                str(self.cert_file),
                "--ssl-keyfile",
                str(self.key_file),
            ]
        if self.supernode_auth:
            args.append("--enable-supernode-auth")
        if self.simulation:
            args.append("--simulation")
        return args


class SuperLinkProcess:
    """One SuperLink child process, plus the `flwr` calls that address it."""

    def __init__(self, options: SuperLinkOptions) -> None:
        self.options = options
        self.log_file = options.state_dir / "superlink.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the SuperLink and wait until it serves."""
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_flower_config()
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as sink:
            self._process = subprocess.Popen(  # noqa: S603 - Flower's own executable
                self.options.command(), stdout=sink, stderr=sink, env=flower_environment()
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self._log_since(offset):
                log.info("SuperLink serving on %s", self.options.address)
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.2)
        tail = self._log_since(offset)[-2000:]
        self.stop()
        raise ConnectionFailed(f"the SuperLink did not start; its log ends with:\n{tail}")

    def stop(self) -> None:
        """Stop the SuperLink (and, through it, any running ServerApp)."""
        if self._process is None or self._process.poll() is not None:
            return
        detached = detached_groups(self._process.pid)  # its SuperExec and ServerApps
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        kill_groups(detached)

    @property
    def running(self) -> bool:
        """Return whether the SuperLink process is alive."""
        return self._process is not None and self._process.poll() is None

    def flwr(self, *args: str, cwd: Path | None = None) -> Any:
        """Run a `flwr` command against this SuperLink with JSON output; return the JSON."""
        result = subprocess.run(  # noqa: S603 - Flower's own executable
            [flower_executable("flwr"), *args, "--format", "json"],
            capture_output=True,
            text=True,
            timeout=FLWR_TIMEOUT_S,
            check=False,
            cwd=cwd,
            env=flower_environment({"FLWR_HOME": str(self.options.flwr_home)}),
        )
        try:
            payload = json.loads(result.stdout)
        except json.JSONDecodeError:
            payload = None
        if result.returncode != 0 or payload is None or payload.get("success") is False:
            detail = (payload or {}).get("error-message") if payload else result.stderr
            raise EdgewardError(f"flwr {args[0]} failed: {str(detail).strip()[:500]}")
        return payload

    def run_log(self, run_id: int) -> str:
        """Return what the run's ServerApp logged (Flower keeps it on the SuperLink)."""
        result = subprocess.run(  # noqa: S603 - Flower's own executable
            [flower_executable("flwr"), "log", str(run_id), CONNECTION, "--show"],
            capture_output=True,
            text=True,
            timeout=FLWR_TIMEOUT_S,
            check=False,
            env=flower_environment({"FLWR_HOME": str(self.options.flwr_home)}),
        )
        return result.stdout

    def register_supernode(self, public_key: Path) -> None:
        """Allow the SuperNode holding this key to connect (node authentication)."""
        self.flwr("supernode", "register", str(public_key), CONNECTION)

    def _write_flower_config(self) -> None:
        home = self.options.flwr_home
        home.mkdir(parents=True, exist_ok=True)
        host = "127.0.0.1" if self.options.host in ("0.0.0.0", "::") else self.options.host  # noqa: S104
        lines = [
            "[superlink]",
            f'default = "{CONNECTION}"',
            "",
            f"[superlink.{CONNECTION}]",
            f'address = "{host}:{self.options.port}"',
        ]
        if self.options.insecure:
            lines.append("insecure = true")
        else:
            lines.append(f'root-certificates = "{self.options.ca_file}"')
        (home / "config.toml").write_text("\n".join(lines) + "\n")

    def _log_since(self, offset: int) -> str:
        if not self.log_file.exists():
            return ""
        with self.log_file.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
