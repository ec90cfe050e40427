"""Risky decisions wait for a person: the whole path with real processes and the real model.

A real mosquitto broker carries readings to a real agent process whose active model proposes
actions; the agent screens them with the guardrail rules and the default GGUF through
llama.cpp, runs the low-risk ones by publishing on MQTT and sends the risky ones to a real
control plane over CURVE. The operator answers with the `edgeward approvals` CLI:

1. approved: the action runs on the agent exactly once;
2. denied: it never runs;
3. unanswered: it expires and never runs;
4. control plane unreachable: a risky decision stays held; low-risk ones still run.

An overheating node (CPU 99 %) makes the policy propose `restart_node`, which cannot be
undone: high risk off-peak (peak hours are switched off for the test), so it is held. The
jump in CPU is also an anomaly, so an alarm (low risk) is raised on the same reading.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from certs import init_pki, issue_device
from edge_agent.enrollment import enroll_device
from edge_agent.model_store import ModelStore, activate_bundle
from edgeward.risk.llm import ensure_head, load_llm_settings
from edgeward.schema import load_schema
from tests.support.models import archive_of, model_bundle
from tests.support.mosquitto import Mosquitto, free_port, start_mosquitto
from tests.support.processes import EdgewardProcess

pytestmark = pytest.mark.integration
SITE = "site-0"
APPROVAL_TIMEOUT_S = 45.0


@dataclass
class ActionLog:
    """Every action message the agent published, as received by a subscriber."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, payload: bytes) -> None:
        with self.lock:
            self.messages.append(json.loads(payload))

    def for_decision(self, decision_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["decision_id"] == decision_id]

    def actions_on(self, target: str) -> list[str]:
        with self.lock:
            return [m["action"] for m in self.messages if m["target"] == target]


@dataclass(kw_only=True)
class Site:
    root: Path
    config: Path
    control: EdgewardProcess
    agent: EdgewardProcess
    feed: mqtt.Client
    actions: ActionLog

    def publish(self, source: str, **metrics: float) -> None:
        values = {"prb_util_dl": 40.0, "active_users": 60, "cpu_pct": 50.0, **metrics}
        payload = {"ts": time.time(), "source": source, "metrics": values}
        self.feed.publish(f"edgeward/{SITE}/{source}/metrics", json.dumps(payload), qos=1)

    def warm_up(self, sources: list[str], readings: int = 40) -> None:
        """Publish calm readings until the agent stored a full model window of each source."""
        deadline = time.monotonic() + 60
        while min(self.stored(source) for source in sources) < readings:
            assert time.monotonic() < deadline, "the agent did not store the warm-up readings"
            for source in sources:
                self.publish(source)
            time.sleep(0.05)

    def stored(self, source: str) -> int:
        path = self.root / SITE / "agent.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT COUNT(*) FROM readings WHERE source = ?", (source,))
            return int(row.fetchone()[0])

    def decisions(self) -> dict[str, tuple[str, str, str]]:
        """Return the agent's journal: id -> (action, target, status)."""
        path = self.root / SITE / "agent.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT id, action, target, status FROM decisions").fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def restarts(self, target: str) -> list[str]:
        """Return the ids of the restart decisions the agent proposed for `target`."""
        return [
            ident
            for ident, (action, on, _) in self.decisions().items()
            if action == "restart_node" and on == target
        ]

    def held_restart(self, target: str) -> str:
        """Overheat `target` and return the id of the one restart the agent proposes."""
        self.publish(target, cpu_pct=99.0)
        wait(lambda: bool(self.restarts(target)), 60, f"a restart proposed for {target}")
        time.sleep(1)  # a second proposal, were there one, would be recorded by now
        found = self.restarts(target)
        assert len(found) == 1, f"one restart for {target} (cooldown): {found}"
        return found[0]

    def status(self, decision_id: str) -> str:
        return self.decisions()[decision_id][2]

    def approvals(self) -> list[dict[str, Any]]:
        result = self.cli("approvals", "list", "--all", "--json")
        data = json.loads(result.stdout)
        return list(data["approvals"] if isinstance(data, dict) else data)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "edgeward", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stderr or result.stdout
        return result


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _settings(root: Path, broker: Mosquitto, port: int) -> tuple[Path, Path]:
    control = root / "control.toml"
    control.write_text(f"""
[control]
state_dir = "{root / "control"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"
bind = "tcp://127.0.0.1:{port}"
tick_interval_s = 0.5
import_interval_s = 3600
""")
    agent = root / f"{SITE}.toml"
    agent.write_text(f"""
[agent]
site = "{SITE}"
data_dir = "{root / SITE}"
[agent.mqtt]
url = "{broker.url}"
[agent.control]
heartbeat_interval_s = 1.0
[agent.decisions]
peak_hours = []
approval_timeout_s = {APPROVAL_TIMEOUT_S}
expiry_interval_s = 1.0
llm_timeout_s = 20.0
""")
    return control, agent


def _install_model(root: Path, signing_key: Path, public_key: Path) -> None:
    bundle = model_bundle(root / "bundle", signing_key=signing_key)
    activate_bundle(
        ModelStore(root / SITE),
        archive_of(bundle, root / "bundle.tar"),
        version=1,
        signing_key=public_key,
        schema_hash=load_schema().content_hash,
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    ensure_head(load_llm_settings())  # the LLM layer's head: tuned once, cached outside
    port = free_port()
    pki = init_pki(tmp_path / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    issue_device(pki, SITE, out=tmp_path / f"{SITE}.bundle")
    enroll_device(tmp_path / f"{SITE}.bundle", tmp_path / SITE)
    _install_model(tmp_path, pki.signing.private_key, pki.signing.public_key)
    broker = start_mosquitto(tmp_path / "broker")
    control_config, agent_config = _settings(tmp_path, broker, port)
    control = EdgewardProcess(
        ["control-plane", "serve", "--config", str(control_config), "--no-dashboard"],
        tmp_path / "control.log",
    )
    agent = EdgewardProcess(["agent", "run", "--config", str(agent_config)], tmp_path / "agent.log")
    actions = ActionLog()
    listener = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="ops")
    listener.on_message = lambda _c, _u, message: actions.add(message.payload)
    feed = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"feed-{uuid.uuid4().hex[:6]}"
    )
    try:
        control.start()
        agent.start()
        listener.connect("127.0.0.1", broker.port)
        listener.subscribe(f"edgeward/{SITE}/+/actions", qos=1)
        listener.loop_start()
        feed.connect("127.0.0.1", broker.port)
        feed.loop_start()
        control.wait_for_log("control plane serving on", timeout=60)
        agent.wait_for_log("subscribed to", timeout=120)
        yield Site(
            root=tmp_path,
            config=control_config,
            control=control,
            agent=agent,
            feed=feed,
            actions=actions,
        )
    finally:
        for client in (feed, listener):
            client.loop_stop()
            client.disconnect()
        for process in (control, agent):
            process.kill()
        broker.stop()


def test_risky_decisions_wait_for_a_person_and_run_at_most_once(site: Site) -> None:
    sources = ["cell-1", "cell-2", "cell-3", "cell-4"]
    site.warm_up(sources)

    # 1. Approved: runs exactly once.
    first = site.held_restart("cell-1")
    assert site.status(first) == "held"
    assert not site.actions.for_decision(first)
    wait(lambda: any(a["decision_id"] == first for a in site.approvals()), 60, "the request")
    request = next(a for a in site.approvals() if a["decision_id"] == first)
    assert (request["site"], request["risk"], request["status"]) == (SITE, "high", "pending")
    shown = json.loads(site.cli("approvals", "show", first, "--json").stdout)
    assert shown["screening"]["rationale"], "a person reads a rationale beside the decision"
    site.cli("approvals", "approve", first, "--comment", "field team on site", "--actor", "ops")
    wait(lambda: len(site.actions.for_decision(first)) > 0, 30, "the approved restart")
    time.sleep(3)  # long enough for a second delivery of the verdict, were there one
    assert [m["action"] for m in site.actions.for_decision(first)] == ["restart_node"]
    assert site.status(first) == "executed"

    # 2. Denied: never runs.
    second = site.held_restart("cell-2")
    wait(lambda: any(a["decision_id"] == second for a in site.approvals()), 60, "request 2")
    site.cli("approvals", "deny", second, "--comment", "not during the match", "--actor", "ops")
    wait(lambda: site.status(second) == "denied", 30, "the denial to reach the agent")
    denied_again = site.cli("approvals", "approve", second, "--comment", "oops", check=False)
    assert denied_again.returncode != 0, "the first verdict is final"

    # 3. Unanswered: expires, never runs.
    third = site.held_restart("cell-3")
    wait(lambda: site.status(third) == "expired", APPROVAL_TIMEOUT_S + 30, "the expiry")

    # 4. The control plane is gone: a risky decision stays held, a low-risk one still runs.
    site.control.kill()
    fourth = site.held_restart("cell-4")
    wait(lambda: "raise_alarm" in site.actions.actions_on("cell-4"), 30, "the offline alarm")
    time.sleep(3)
    assert site.status(fourth) == "held"
    assert "restart_node" not in site.actions.actions_on("cell-4")

    for decision_id in (second, third, fourth):
        assert not site.actions.for_decision(decision_id)
    assert site.agent.running
