"""Orchestrate the demo: a broker, one agent process and one simulator per site.

Every role runs as the real command a deployment would run (`edgeward agent run` in its own
process); the demo only starts, watches and stops them. Later issues add the control plane,
the aggregator and the dashboard to the same run.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.demo.broker import EmbeddedBroker
from edgeward.errors import EdgewardError
from edgeward.simulator import PublishOptions, publish_simulation

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 30.0


@dataclass(kw_only=True, slots=True, frozen=True)
class DemoOptions:
    """What the demo runs."""

    data_dir: Path
    sites: int = 2
    sources: int = 4
    rate: float = 8.0
    bad_fraction: float = 0.04
    mqtt_url: str | None = None


@dataclass(kw_only=True, slots=True)
class SiteRun:
    """One simulated site: its agent process and its simulator thread."""

    name: str
    data_dir: Path
    agent: subprocess.Popen[bytes]
    log_file: Path
    simulator: threading.Thread


class DemoRun:
    """Start everything, report status, and stop everything cleanly."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.broker: EmbeddedBroker | None = None
        self.broker_url = options.mqtt_url or ""
        self.sites: list[SiteRun] = []
        self._stop = threading.Event()

    def start(self) -> None:
        """Start the broker (unless one was given), then each site's agent and simulator."""
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.options.mqtt_url is None:
            self.broker = EmbeddedBroker()
            self.broker.start()
            self.broker_url = self.broker.url
            env["EDGEWARD_AGENT__MQTT__PROTOCOL"] = "v311"  # amqtt speaks MQTT 3.1.1
        for index in range(self.options.sites):
            self.sites.append(self._start_site(f"site-{index + 1}", index, env))

    def _start_site(self, name: str, index: int, env: dict[str, str]) -> SiteRun:
        data_dir = self.options.data_dir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        log_file = data_dir / "agent.log"
        with log_file.open("ab") as sink:
            agent = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "edgeward",
                    "agent",
                    "run",
                    "--site",
                    name,
                    "--data-dir",
                    str(data_dir),
                    "--mqtt",
                    self.broker_url,
                ],
                stdout=sink,
                stderr=sink,
                env=env,
            )
        self._wait_for_subscription(log_file, agent)
        options = PublishOptions(
            site=name,
            sources=self.options.sources,
            rate=self.options.rate,
            mqtt_url=self.broker_url,
            seed=index,
            bad_fraction=self.options.bad_fraction,
            labels_file=data_dir / "anomalies.jsonl",
            bad_log=data_dir / "bad_messages.jsonl",
            client_id=f"edgeward-simulator-{name}",
        )
        simulator = threading.Thread(
            target=self._simulate, args=(options,), name=f"simulator-{name}", daemon=True
        )
        simulator.start()
        return SiteRun(
            name=name, data_dir=data_dir, agent=agent, log_file=log_file, simulator=simulator
        )

    def _wait_for_subscription(self, log_file: Path, agent: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "subscribed to" in log_file.read_text(errors="replace"):
                return
            if agent.poll() is not None:
                raise EdgewardError(f"the agent exited at start; see {log_file}")
            time.sleep(0.2)
        raise EdgewardError(f"the agent did not subscribe within 60 s; see {log_file}")

    def _simulate(self, options: PublishOptions) -> None:
        try:
            publish_simulation(options, stop=self._stop)
        except EdgewardError as err:
            log.error("simulator for %s stopped: %s", options.site, err)

    def status(self) -> dict[str, Any]:
        """Return each site's `edgeward agent status --json` report."""
        report: dict[str, Any] = {}
        for site in self.sites:
            result = subprocess.run(  # noqa: S603 - our own CLI
                [
                    sys.executable,
                    "-m",
                    "edgeward",
                    "agent",
                    "status",
                    "--data-dir",
                    str(site.data_dir),
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            report[site.name] = (
                json.loads(result.stdout)
                if result.returncode == 0
                else {"error": result.stderr.strip()}
            )
            report[site.name]["agent_running"] = site.agent.poll() is None
        return report

    def stop(self) -> None:
        """Stop simulators, then agents (SIGTERM, clean shutdown), then the broker."""
        self._stop.set()
        for site in self.sites:
            site.simulator.join(STOP_TIMEOUT_S)
        for site in self.sites:
            if site.agent.poll() is None:
                site.agent.send_signal(signal.SIGTERM)
        for site in self.sites:
            try:
                site.agent.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("agent %s did not stop in time; killing it", site.name)
                site.agent.kill()
                site.agent.wait()
        if self.broker is not None:
            self.broker.stop()
