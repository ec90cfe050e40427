"""The control plane and four agents as real processes: promotion, rollback, restarts, revocation.

Everything is real on loopback: mosquitto feeds each agent live simulated KPIs; agents and
control plane talk ZeroMQ with CURVE keys from a throwaway PKI; challengers are trained on the
agents' own stores with Edgeward's ServerApp logic and ClientApp (in process) and submitted to
the registry inbox like the aggregator does. The gate is opened wide and a live regression
must double the error, so that the test does not hinge on whether a round or two of training
improves the forecast (it may make it a little worse); the sabotaged challenger is tens of
times worse live, and the rollout engine's live check is the one under test.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from aggregator.run_config import RunConfig
from aggregator.training_run import TrainingRun
from certs import init_pki, issue_device
from edge_agent.enrollment import enroll_device
from edge_agent.learning.client_app import app as client_app
from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site
from edge_agent.transport import REFUSED_SENTENCE, CurveClient
from edgeward.bundles import RegistryLayout, read_bundle, submit_bundle
from edgeward.simulator import PublishOptions, publish_simulation
from tests.fakes.in_process_grid import InProcessGrid
from tests.support.mosquitto import Mosquitto, free_port, start_mosquitto
from tests.support.processes import EdgewardProcess

pytestmark = pytest.mark.integration
SITES = [f"site-{i}" for i in range(4)]


@dataclass(kw_only=True, slots=True)
class System:
    root: Path
    control: EdgewardProcess
    agents: dict[str, EdgewardProcess]
    broker: Mosquitto
    registry: Path
    stop_feed: threading.Event

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.root / 'control' / 'control.db'}?mode=ro", uri=True)

    def rollout(self, rollout_id: int) -> dict[str, Any]:
        with self.db() as conn:
            row = conn.execute(
                "SELECT status, reason, version FROM rollouts WHERE id = ?", (rollout_id,)
            ).fetchone()
            sites = dict(
                conn.execute(
                    "SELECT site, status FROM rollout_sites WHERE rollout_id = ?", (rollout_id,)
                )
            )
        return (
            {"status": row[0], "reason": row[1], "version": row[2], "sites": sites}
            if row
            else {"status": None, "sites": {}}
        )

    def active_versions(self) -> dict[str, int | None]:
        with self.db() as conn:
            return dict(conn.execute("SELECT site, active_version FROM sites"))

    def last_seen(self, site: str) -> float:
        with self.db() as conn:
            return float(
                conn.execute("SELECT last_seen FROM sites WHERE site = ?", (site,)).fetchone()[0]
            )

    def champion(self) -> int | None:
        pointer = self.registry / "aliases" / "champion.json"
        return int(json.loads(pointer.read_text())["version"]) if pointer.exists() else None

    def approve_held_promotion(self, version: int) -> bool:
        """Approve the promotion of `version` if pipeline screening held it for a person.

        A challenger that beats the champion on fewer than half of the sites screens high and
        waits for an operator (control_plane.pipeline_risk); this is that operator, through
        the CLI. Return whether there was one to approve.
        """
        edgeward = [sys.executable, "-m", "edgeward", "approvals"]
        config = ["--config", str(self.root / "control.toml")]
        listed = subprocess.run(
            [*edgeward, "list", "--json", *config], capture_output=True, text=True, check=True
        )
        held = [
            item["decision_id"]
            for item in json.loads(listed.stdout)
            if item["decision_id"].startswith(f"promote-v{version}-")
        ]
        for decision_id in held:
            subprocess.run(
                [*edgeward, "approve", decision_id, "--comment", "test operator", *config],
                capture_output=True,
                check=True,
            )
        return bool(held)

    def await_rollout(self, version: int) -> None:
        """Wait for the rollout of `version` (rollout id = version) to start, approving it if
        pipeline screening held its promotion for a person."""
        wait(
            lambda: (
                self.rollout(version)["status"] is not None or self.approve_held_promotion(version)
            ),
            60,
            f"rollout {version} to start (or its promotion to wait for a person)",
        )

    def train(self, *, rounds: int) -> str:
        """Train a challenger on the agents' stores and submit it, as the aggregator would."""
        nodes = {
            100 + i: {"data-dir": str(self.root / site), "site": site}
            for i, site in enumerate(SITES)
        }
        config = RunConfig.from_flower(
            {"rounds": rounds, "min-nodes": len(SITES), "registry-dir": str(self.registry)}
        )
        outcome = TrainingRun(InProcessGrid(client_app, nodes), config, run_id=rounds).execute()
        assert outcome.status == "completed", outcome.detail
        assert outcome.submission is not None
        return outcome.submission


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.25)


def write_settings(root: Path, broker: Mosquitto, port: int) -> Path:
    config = root / "control.toml"
    config.write_text(f"""
[control]
state_dir = "{root / "control"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"
bind = "tcp://127.0.0.1:{port}"
heartbeat_interval_s = 1.0
import_interval_s = 1.0
tick_interval_s = 0.5

[control.gate]
min_sites = 2
min_improvement = -1.0
min_win_share = 0.0
significance = 1.0
max_site_regression = 10.0
max_quarantine_rate = 1.0

[control.rollout]
canary_fraction = 0.25
waves = [0.5, 1.0]
bake_s = 3.0
regression_threshold = 1.0
activation_timeout_s = 60.0
min_samples = 3
max_bake_extension_s = 30.0
offer_resend_s = 3.0
""")
    for site in SITES:
        (root / f"{site}.toml").write_text(f"""
[agent]
site = "{site}"
data_dir = "{root / site}"
[agent.mqtt]
url = "{broker.url}"
[agent.control]
heartbeat_interval_s = 1.0
live_quality_interval_s = 1.0
""")
    return config


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    broker = start_mosquitto(tmp_path / "broker")
    port = free_port()
    pki = init_pki(tmp_path / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    now = time.time()
    for index, site in enumerate(SITES):
        issue_device(pki, site, out=tmp_path / f"{site}.bundle")
        enroll_device(tmp_path / f"{site}.bundle", tmp_path / site)
        fill_simulated_site(
            tmp_path / site, SimulatedHistory(site=site, seed=index, days=0.5, end_ts=now - 60)
        )
    config = write_settings(tmp_path, broker, port)
    control = EdgewardProcess(
        ["control-plane", "serve", "--config", str(config), "--no-dashboard"],
        tmp_path / "control.log",
    ).start()
    agents = {
        site: EdgewardProcess(
            ["agent", "run", "--config", str(tmp_path / f"{site}.toml")], tmp_path / f"{site}.log"
        ).start()
        for site in SITES
    }
    stop_feed = threading.Event()
    feeds = [
        threading.Thread(
            target=publish_simulation,
            daemon=True,
            kwargs={
                "options": PublishOptions(
                    site=site,
                    sources=4,
                    rate=8.0,
                    mqtt_url=broker.url,
                    seed=index,
                    client_id=f"feed-{site}",
                ),
                "stop": stop_feed,
            },
        )
        for index, site in enumerate(SITES)
    ]
    for feed in feeds:
        feed.start()
    built = System(
        root=tmp_path,
        control=control,
        agents=agents,
        broker=broker,
        registry=tmp_path / "registry",
        stop_feed=stop_feed,
    )
    try:
        control.wait_for_log("control plane serving on", timeout=60)
        wait(lambda: len(built.active_versions()) == len(SITES), 60, "every agent to say hello")
        yield built
    finally:
        stop_feed.set()
        for process in (control, *agents.values()):
            process.kill()
        broker.stop()


def test_promotion_automatic_rollback_restart_and_revocation(system: System) -> None:
    # 1. The first model goes canary, then waves, to every site; it becomes champion.
    system.train(rounds=1)
    wait(lambda: system.rollout(1)["status"] == "completed", 120, "rollout 1 to complete")
    assert system.champion() == system.rollout(1)["version"] == 1
    wait(lambda: set(system.active_versions().values()) == {1}, 30, "every site on version 1")

    # 2. A second challenger, trained from the champion, rolls out; the control plane is
    #    killed mid-rollout and, restarted, carries on with the same rollout.
    system.train(rounds=2)
    system.await_rollout(2)
    wait(lambda: "activated" in system.rollout(2)["sites"].values(), 60, "the canary")
    system.control.kill()
    system.control.start()
    wait(lambda: system.rollout(2)["status"] == "completed", 120, "rollout 2 to complete")
    assert system.champion() == 2
    wait(lambda: set(system.active_versions().values()) == {2}, 30, "every site on version 2")
    assert system.control.log_text().count("control plane serving on") == 2

    # 3. A challenger whose stale evaluation passes the gate but that regresses live is
    #    rolled back after the canary, by the engine alone.
    good = read_bundle(system.registry / "models" / "2")
    arrays = {name: array.copy() for name, array in good.arrays.items()}
    head = [name for name in arrays if name.endswith("bias")][-1]
    arrays[head] = arrays[head] + 50.0  # tens of normalised units off
    manifest = good.manifest
    submit_bundle(
        RegistryLayout(system.registry),
        arrays=arrays,
        name="stale-but-bad",
        schema_hash=manifest.schema_hash,
        model_spec=dict(manifest.model_spec),
        normalisation=dict(manifest.normalisation),
        lineage=dict(manifest.lineage),
        metrics=dict(manifest.metrics),
        parent_version=2,
    )
    system.await_rollout(3)
    wait(lambda: system.rollout(3)["status"] == "rolled_back", 120, "rollout 3 rolled back")
    rollout = system.rollout(3)
    assert rollout["reason"].startswith("live regression in wave 0")
    touched = [s for s, status in rollout["sites"].items() if status != "pending"]
    assert len(touched) == 1, "only the canary ever ran the bad model"
    wait(lambda: system.rollout(3)["sites"][touched[0]] == "rolled_back", 30, "confirmation")
    assert system.champion() == 2
    wait(lambda: set(system.active_versions().values()) == {2}, 30, "the canary back on 2")

    # 4. An unenrolled key is refused; a revoked site is cut off and told why.
    stranger_public, stranger_secret = zmq.curve_keypair()
    from certs import load_pki

    pki = load_pki(system.root / "pki")
    stranger = CurveClient(
        endpoint=pki.control_plane_address,
        server_public_key=pki.curve_public_key,
        public_key=stranger_public,
        secret_key=stranger_secret,
    )
    stranger.start()
    try:
        assert stranger.refused.wait(10), "the unenrolled key was refused"
    finally:
        stranger.stop()
    revoke = EdgewardProcess(
        [
            "fleet",
            "revoke",
            "site-3",
            "--config",
            str(system.root / "control.toml"),
            "--reason",
            "stolen device",
        ],
        system.root / "revoke.log",
    ).start()
    assert revoke.process is not None
    assert revoke.process.wait(60) == 0, revoke.log_text()
    system.agents["site-3"].wait_for_log(REFUSED_SENTENCE, timeout=30)
    assert "no longer admitted: it was revoked" in system.agents["site-3"].log_text()
    cut_off_at = system.last_seen("site-3")
    time.sleep(3)
    assert system.last_seen("site-3") == cut_off_at, "no heartbeat is recorded after revocation"
    assert system.last_seen("site-0") > cut_off_at, "the rest of the fleet carries on"
