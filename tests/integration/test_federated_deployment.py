"""Federated learning on Flower's deployment engine: a TLS SuperLink, three agents' SuperNodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.superlink import SuperLinkOptions, SuperLinkProcess
from certs import create_authority, create_node_keys
from control_plane.registry import open_registry
from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site
from edge_agent.learning.supernode import SuperNodeOptions
from edgeward.flower_processes import flower_environment
from tests.support.agent_process import AgentProcess
from tests.support.mosquitto import free_port

pytestmark = pytest.mark.integration
SITES = 3
SUPERNODE_READY = "SuperNode started"


def write_fleet(root: Path, *, round_timeout_s: float = 300.0) -> tuple[Path, list[AgentProcess]]:
    """Make a CA, node keys, three site stores with a day of data, and every settings file.

    The SuperLink runs with node authentication: only the three sites' keys are admitted.
    """
    authority = create_authority(root / "pki")
    authority.issue_server("superlink", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    port = free_port()
    agents = []
    for index in range(SITES):
        site = f"site-{index}"
        keys = create_node_keys(root / "node-keys", site)
        fill_simulated_site(
            root / site, SimulatedHistory(site=site, seed=index, days=1.0, anomaly_rate=0.05)
        )
        config = root / f"{site}.toml"
        config.write_text(f"""
[agent]
site = "{site}"
data_dir = "{root / site}"
[agent.learning]
superlink = "127.0.0.1:{port}"
root_certificates = "{root / "pki" / "ca.pem"}"
runtime_port = {free_port()}
restart_min_s = 0.5
auth_private_key = "{keys.private_key}"
auth_public_key = "{keys.public_key}"
""")
        agents.append(AgentProcess(config, root / site, root / f"{site}.log"))
    aggregator = root / "aggregator.toml"
    aggregator.write_text(f"""
[aggregator]
state_dir = "{root / "aggregator"}"
registry_dir = "{root / "registry"}"
port = {port}
ca_file = "{root / "pki" / "ca.pem"}"
cert_file = "{root / "pki" / "superlink.pem"}"
key_file = "{root / "pki" / "superlink.key"}"
min_nodes = {SITES}
run_timeout_s = 600
supernode_auth = true
supernode_keys_dir = "{root / "node-keys"}"

[[aggregator.challengers]]
name = "mlp-fedavg"
rounds = 2
options = {{ round-timeout-s = {round_timeout_s}, node-wait-s = 120.0 }}
""")
    return aggregator, agents


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Path, list[AgentProcess]]]:
    aggregator, agents = write_fleet(tmp_path)
    yield aggregator, agents
    for agent in agents:
        if agent.running:
            agent.kill_all()


def run_aggregator(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgeward",
            "aggregator",
            "run",
            "--challenger",
            "mlp-fedavg",
            "--config",
            str(config),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 0, err[-3000:]
    outcome: dict[str, object] = json.loads(out)
    return outcome


def test_a_challenger_is_registered_with_per_site_metrics_and_lineage(
    tmp_path: Path, fleet: tuple[Path, list[AgentProcess]]
) -> None:
    config, agents = fleet
    for agent in agents:
        agent.start(ready_line=SUPERNODE_READY)
    outcome = finish(run_aggregator(config), timeout=480)
    assert outcome["status"] == "completed", outcome
    assert sorted(outcome["sites"]) == ["site-0", "site-1", "site-2"]  # type: ignore[arg-type]

    registry = open_registry(tmp_path / "registry")
    report = registry.import_submissions()
    (version,) = report.registered
    bundle_manifest = json.loads((version.path / "manifest.json").read_text())
    lineage = bundle_manifest["lineage"]
    assert lineage["rounds"] == 2
    assert lineage["strategy"] == "fedavg"
    assert lineage["run_id"] == outcome["run_id"]
    assert lineage["hyperparameters"]["model"] == "mlp"
    assert set(lineage["sites"]) == {"site-0", "site-1", "site-2"}
    for summary in lineage["sites"].values():
        assert summary["rows"] == 4 * 1440
        assert len(summary["fingerprint"]) == 64
        assert summary["first_ts_ms"] < summary["last_ts_ms"]
    assert bundle_manifest["schema_hash"] == lineage["schema_hashes"][0]
    per_site = bundle_manifest["metrics"]["per_site"]
    assert set(per_site) == {"site-0", "site-1", "site-2"}
    for metrics in per_site.values():
        assert 0 < metrics["challenger_mae"] < 1
        assert metrics["examples"] > 0
    held = [json.loads(json.dumps(a.status().to_dict())) for a in agents]
    assert all(h["records_stored"] == 4 * 1440 for h in held)
    for agent in agents:
        assert agent.terminate() == 0


def test_a_node_killed_mid_run_does_not_wedge_it_and_comes_back(tmp_path: Path) -> None:
    config, agents = write_fleet(tmp_path, round_timeout_s=20.0)
    try:
        for agent in agents:
            agent.start(ready_line=SUPERNODE_READY)
        aggregator = run_aggregator(config)
        victim = agents[2]
        deadline = time.monotonic() + 300
        supernode_log = victim.data_dir / "supernode.log"
        while time.monotonic() < deadline:
            if supernode_log.exists() and "Receiving: train" in supernode_log.read_text():
                break
            time.sleep(0.1)
        else:
            pytest.fail("training never started on the victim")
        pid = supernode_pid(victim)
        os.kill(pid, signal.SIGKILL)  # the SuperNode dies while it trains
        outcome = finish(aggregator, timeout=480)
        print("timings", outcome["timings_s"], outcome["detail"])
        assert outcome["status"] == "completed", outcome
        assert len(outcome["sites"]) == SITES  # type: ignore[arg-type]
        victim.wait_ready(timeout=60)  # the agent started a new SuperNode by itself
        assert "restarting it" in victim.log_text()
        assert supernode_pid(victim) != pid
    finally:
        for agent in agents:
            if agent.running:
                agent.kill_all()


def supernode_pid(agent: AgentProcess) -> int:
    """Return the pid of the SuperNode the agent started most recently."""
    lines = [line for line in agent.log_text().splitlines() if SUPERNODE_READY in line]
    return int(lines[-1].split("(pid ")[1].split(")")[0])


def test_only_registered_supernodes_are_admitted(tmp_path: Path) -> None:
    authority = create_authority(tmp_path / "pki")
    authority.issue_server("superlink", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    superlink = SuperLinkProcess(
        SuperLinkOptions(
            host="127.0.0.1",
            port=free_port(),
            state_dir=tmp_path / "superlink",
            ca_file=authority.cert_path,
            cert_file=tmp_path / "pki" / "superlink.pem",
            key_file=tmp_path / "pki" / "superlink.key",
            supernode_auth=True,
        )
    )
    enrolled = create_node_keys(tmp_path / "keys", "enrolled")
    stranger = create_node_keys(tmp_path / "keys", "stranger")
    superlink.start()
    try:
        superlink.register_supernode(enrolled.public_key)
        outcomes: dict[str, int | None] = {}
        for name, keys in (("enrolled", enrolled), ("stranger", stranger)):
            options = SuperNodeOptions(
                superlink=superlink.options.address,
                runtime_port=free_port(),
                node_config={"data-dir": str(tmp_path), "site": name},
                log_file=tmp_path / f"{name}.log",
                root_certificates=authority.cert_path,
                auth_private_key=keys.private_key,
                auth_public_key=keys.public_key,
                extra_args=("--max-retries", "3"),
            )
            with options.log_file.open("wb") as sink:
                process = subprocess.Popen(
                    options.command(),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=flower_environment(),
                )
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                if "SuperNode ID" in options.log_file.read_text(errors="replace"):
                    break  # activated: the SuperLink admitted it
                time.sleep(0.2)
            outcomes[name] = process.poll()
            if outcomes[name] is None:
                process.terminate()
                process.wait(30)
        assert outcomes["enrolled"] is None, "the registered node stays connected"
        assert outcomes["stranger"] not in (None, 0), "the unregistered node is refused"
        refusal = (tmp_path / "stranger.log").read_text()
        assert "Failed to activate SuperNode" in refusal
        assert "ref-exit-codes/305" in refusal
    finally:
        superlink.stop()
