"""Orchestrate the demo: a CA, a broker, the control plane, the aggregator and N sites.

Every role runs as the real command a deployment would run, in its own process
(`edgeward control-plane serve`, `edgeward aggregator serve`, `edgeward agent run` with a
SuperNode); the demo only prepares their folder, starts them, plays the story, watches and
stops them by their ids. With `--chaos` it also kills and restarts them, cuts sites' links
(each site then reaches the control plane and the broker through its own relay) and fills
a site's disk; see `edgeward.demo.chaos`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from edgeward.demo.actions import ActionWatch
from edgeward.demo.broker import EmbeddedBroker
from edgeward.demo.chaos import ChaosInjector, FaultPlan
from edgeward.demo.configs import write_configs
from edgeward.demo.faults import fault_handlers
from edgeward.demo.layout import DemoLayout, new_layout, prepare_identities
from edgeward.demo.mosquitto import MosquittoBroker, local_broker
from edgeward.demo.operator import ApiClient, ScriptedOperator
from edgeward.demo.options import ChaosTimings, DemoOptions
from edgeward.demo.processes import DemoProcessError, RoleProcess, stop_all
from edgeward.demo.report import SiteCounts
from edgeward.demo.site_links import SiteLinks
from edgeward.demo.story import Story
from edgeward.errors import EdgewardError
from edgeward.simulator import PublishOptions, publish_simulation
from edgeward.simulator.run_options import PublishReport

log = logging.getLogger(__name__)
ADMIN = "admin"
START_TIMEOUT_S = 120.0
ROLLOUT_END_TIMEOUT_S = 90.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Credentials:
    """The admin account made for the person watching, and the operator's API token."""

    user: str
    password: str
    token: str


@dataclass(kw_only=True, slots=True)
class SiteRun:
    """One simulated site: its agent process, its simulator and what was published."""

    name: str
    agent: RoleProcess
    simulator: threading.Thread | None = None
    published: list[PublishReport] = field(default_factory=list)
    before: SiteCounts | None = None


class DemoRun:
    """Start everything, play the story, report status, and stop everything cleanly."""

    def __init__(
        self, options: DemoOptions, *, on_event: Callable[[str], None] | None = None
    ) -> None:
        self.options = options
        self.layout: DemoLayout = new_layout(options)
        self.broker: EmbeddedBroker | MosquittoBroker | None = None
        self.broker_url = options.mqtt_url or ""
        self.control: RoleProcess | None = None
        self.aggregator: RoleProcess | None = None
        self.sites: list[SiteRun] = []
        self.credentials: Credentials | None = None
        self.api: ApiClient | None = None
        self.story: Story | None = None
        self.operator: ScriptedOperator | None = None
        self.errors: list[str] = []
        self.started_at = time.time()
        self.links = SiteLinks()
        self.chaos: ChaosInjector | None = None
        self.actions: ActionWatch | None = None
        self.down_on_purpose: set[str] = set()
        """Roles the chaos killed and is restarting: not deaths `died()` reports."""
        self._on_event = on_event
        self._stop = threading.Event()

    @property
    def chaos_timings(self) -> ChaosTimings:
        """Return the chaos settings (the defaults when the run has no chaos)."""
        return self.options.chaos or ChaosTimings()

    def event(self, text: str) -> None:
        """Tell the person watching what just happened."""
        log.info("demo: %s", text)
        if self._on_event is not None:
            self._on_event(text)

    # -- start ----------------------------------------------------------------------
    def start(self) -> None:
        """Prepare the folder, then start the broker, control plane, aggregator and sites."""
        self.layout.root.mkdir(parents=True, exist_ok=True)
        if self.options.mqtt_url is None:
            self.broker = local_broker(
                self.layout.root / "mosquitto", chaos=self.options.chaos is not None
            )
            self.broker.start()
            self.broker_url = self.broker.url
        kind = "mosquitto" if isinstance(self.broker, MosquittoBroker) else "given"
        kind = "embedded amqtt" if isinstance(self.broker, EmbeddedBroker) else kind
        self.event(f"MQTT broker ({kind}) at {self.broker_url}")
        self.actions = ActionWatch(self.broker_url, mqtt_v311=self.options.mqtt_url is None)
        self.actions.start()
        if self.options.chaos is not None:
            self.links.start(
                self.layout.sites, control_port=self.layout.control_port, broker_url=self.broker_url
            )
            self.event("chaos: each site reaches the control plane and the broker via a relay")
        prepare_identities(self.layout, self.options, self.links.control_addresses())
        write_configs(self.layout, self.options, self.broker_url, self.links.broker_urls())
        self.event(f"CA and {len(self.layout.sites)} enrolled sites in {self.layout.pki}")
        self.credentials = self._make_admin()
        self.api = self._start_control_plane(self.credentials)
        self._start_aggregator()
        for name in self.layout.sites:
            self.sites.append(self._start_agent(name))
        for site in self.sites:
            self._wait_agent(site)
            site.before = self.site_counts(site.name)
            site.simulator = threading.Thread(
                target=self._simulate, args=(site,), name=f"sim-{site.name}", daemon=True
            )
            site.simulator.start()
        self.event("simulated base stations are publishing; bad records are mixed in")
        self._start_story(self.api)
        if self.options.chaos is not None:
            self._start_chaos(self.options.chaos)

    def _start_chaos(self, timings: ChaosTimings) -> None:
        self.chaos = ChaosInjector(
            plan=FaultPlan(timings, self.layout.sites),
            handlers=fault_handlers(self),
            ready=self._champion_serves if timings.wait_for_champion else lambda: True,
            on_event=self.event,
        )
        self.chaos.start()

    def _champion_serves(self) -> bool:
        if self.api is None:
            return False
        try:
            return self.api.get("/overview")["champion"] is not None
        except httpx.HTTPError:
            return False

    def _make_admin(self) -> Credentials:
        config = str(self.layout.control_config)
        added = self._cli("users", "add", ADMIN, "--role", "admin", "--config", config, "--json")
        issued = self._cli(
            "users", "token", "issue", ADMIN, "--label", "demo operator", "--config", config,
            "--json",
        )  # fmt: skip
        return Credentials(user=ADMIN, password=str(added["password"]), token=str(issued["secret"]))

    def _cli(self, *args: str) -> dict[str, Any]:
        result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "edgeward", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise EdgewardError(f"`edgeward {' '.join(args[:2])}` failed: {result.stderr[-500:]}")
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    def _start_control_plane(self, credentials: Credentials) -> ApiClient:
        self.control = RoleProcess(
            "control plane",
            ["control-plane", "serve", "--config", str(self.layout.control_config)],
            self.layout.root / "logs" / "control-plane.log",
        ).start()
        self.control.wait_for_log("dashboard serving on", START_TIMEOUT_S)
        api = ApiClient(self.layout.dashboard_url, credentials.token)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                api.get("/whoami")
                break
            except httpx.HTTPError as err:
                if time.monotonic() > deadline:
                    raise DemoProcessError(f"the dashboard's API does not answer: {err}") from err
                time.sleep(0.5)
        self.event(f"control plane and dashboard up at {self.layout.dashboard_url}")
        return api

    def _start_aggregator(self) -> None:
        self.aggregator = RoleProcess(
            "aggregator",
            ["aggregator", "serve", "--config", str(self.layout.aggregator_config)],
            self.layout.root / "logs" / "aggregator.log",
        ).start()
        self.aggregator.wait_for_log("admitted SuperNode key", START_TIMEOUT_S)
        self.event(f"aggregator (Flower SuperLink, TLS) on port {self.layout.superlink_port}")

    def _start_agent(self, site: str) -> SiteRun:
        agent = RoleProcess(
            f"agent {site}",
            ["agent", "run", "--config", str(self.layout.site_config(site))],
            self.layout.root / "logs" / f"{site}.log",
        ).start()
        return SiteRun(name=site, agent=agent)

    def _wait_agent(self, site: SiteRun) -> None:
        site.agent.wait_for_log("subscribed to", START_TIMEOUT_S)
        site.agent.wait_for_log("SuperNode started", START_TIMEOUT_S)
        self.event(f"{site.name}: agent, store, control link and SuperNode up")

    def _simulate(self, site: SiteRun) -> None:
        index = self.layout.sites.index(site.name)
        options = PublishOptions(
            site=site.name,
            sources=self.options.sources,
            rate=self.options.rate,
            mqtt_url=self.broker_url,
            seed=index,
            bad_fraction=self.options.bad_fraction,
            labels_file=self.layout.site_dir(site.name) / "anomalies.jsonl",
            bad_log=self.layout.site_dir(site.name) / "bad_messages.jsonl",
            client_id=f"edgeward-simulator-{site.name}",
        )
        try:
            site.published.append(publish_simulation(options, stop=self._stop))
        except EdgewardError as err:
            self.errors.append(f"simulator for {site.name} stopped: {err}")

    def _start_story(self, api: ApiClient) -> None:
        timings = self.options.timings
        self.story = Story(
            api=api,
            registry=self.layout.registry,
            broker_url=self.broker_url,
            mqtt_v311=self.options.mqtt_url is None,
            sites=self.layout.sites,
            sources=self.options.sources,
            timings=timings,
            on_event=self._on_event,
        )
        self.story.start()
        if self.options.headless:
            self.operator = ScriptedOperator(
                api=api, every_s=timings.operator_every_s, leave_every=timings.leave_every
            )
            self.operator.start()

    # -- roles, by name (for the chaos) ----------------------------------------------------
    def agent(self, site: str) -> RoleProcess:
        """Return a site's agent process."""
        for run in self.sites:
            if run.name == site:
                return run.agent
        raise DemoProcessError(f"no site named {site}")

    def role(self, name: str) -> RoleProcess:
        """Return the process of a role: "control plane", "aggregator" or a site's name."""
        if name == "control plane" and self.control is not None:
            return self.control
        if name == "aggregator" and self.aggregator is not None:
            return self.aggregator
        return self.agent(name)

    # -- watch ----------------------------------------------------------------------
    def site_counts(self, site: str) -> SiteCounts:
        """Return a site's store counters now."""
        return SiteCounts.from_status(self.site_status(site))

    def site_status(self, site: str) -> dict[str, Any]:
        """Return a site's `edgeward agent status` report, read from its store."""
        from edge_agent.store import AgentStore, read_status

        store = AgentStore.open_read_only(self.layout.site_dir(site))
        try:
            return read_status(store, now=time.time()).to_dict()
        finally:
            store.close()

    def status(self) -> dict[str, Any]:
        """Return the sites' ingest, the roles' liveness and the control plane's overview."""
        sites: dict[str, Any] = {}
        for site in self.sites:
            try:
                sites[site.name] = self.site_status(site.name)
            except EdgewardError as err:
                sites[site.name] = {"error": str(err)}
            sites[site.name]["agent_running"] = site.agent.running
        overview: dict[str, Any] | None = None
        if self.api is not None:
            try:
                overview = self.api.get("/overview")
            except httpx.HTTPError:
                overview = None
        return {
            "sites": sites,
            "overview": overview,
            "roles": {
                "control plane": self.control is not None and self.control.running,
                "aggregator": self.aggregator is not None and self.aggregator.running,
            },
        }

    def died(self) -> list[str]:
        """Return the roles whose process ended on its own."""
        roles = [self.control, self.aggregator, *(site.agent for site in self.sites)]
        down = {self.role(name).name for name in set(self.down_on_purpose)}
        return [
            f"{role.name} exited with code {role.process.returncode}; see {role.log_file}"
            for role in roles
            if role is not None
            and role.process is not None
            and not role.running
            and role.name not in down
        ]

    # -- stop -----------------------------------------------------------------------
    def quiesce(self, timeout: float = 30.0, *, let_rollout_end: bool = False) -> None:
        """Stop the chaos, the story and the feeds; optionally let a running rollout end first."""
        if self.chaos is not None:
            self.chaos.stop()  # ends the fault in progress: every role up, every link back
        if self.story is not None:
            self.story.stop()
        if self.operator is not None:
            self.operator.sweep()
        if let_rollout_end:
            self._let_rollout_end(ROLLOUT_END_TIMEOUT_S)
        self._stop.set()
        for site in self.sites:
            if site.simulator is not None:
                site.simulator.join(timeout)

    def _let_rollout_end(self, timeout: float) -> None:
        """Wait (feeds still on, so it can be judged) for a running rollout to end."""
        if self.api is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.api.get("/overview")["active_rollout"] is None:
                    return
            except httpx.HTTPError:
                return
            self.event("waiting for the running rollout to end")
            time.sleep(2.0)

    def stop(self) -> None:
        """Stop everything: story, feeds, agents, aggregator, control plane, broker."""
        self.quiesce()
        stop_all([site.agent for site in self.sites])
        stop_all([role for role in (self.aggregator, self.control) if role is not None])
        self.links.stop()
        if self.actions is not None:
            self.actions.stop()
        if self.api is not None:
            self.api.close()
        if self.broker is not None:
            self.broker.stop()
