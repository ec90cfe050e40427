"""Bundles an agent must refuse, delivered for real: control plane and agents as processes.

The control plane serves from its registry folder. Each bad bundle reaches it the way one
would in the field — storage changed behind its back while it was down — and is offered by
an operator's forced rollout. The agents (real `edgeward agent run` processes, CURVE keys from
a throwaway PKI) refuse it; the refusal's reason travels back and ends the rollout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certs import Pki, init_pki, issue_device
from control_plane.registry import SqliteRegistry
from edge_agent.enrollment import enroll_device
from edgeward.bundles import MANIFEST_FILE, WEIGHTS_FILE
from tests.support.models import model_bundle
from tests.support.mosquitto import free_port
from tests.support.processes import EdgewardProcess

pytestmark = pytest.mark.integration
SITES = ["site-a", "site-b"]


@dataclass(kw_only=True, slots=True)
class Fleet:
    root: Path
    pki: Pki
    config: Path
    control: EdgewardProcess

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.root / 'control' / 'control.db'}?mode=ro", uri=True)

    def active_versions(self) -> set[int | None]:
        with self.db() as conn:
            return {row[0] for row in conn.execute("SELECT active_version FROM sites")}

    def rollout(self, rollout_id: int) -> tuple[str, str]:
        with self.db() as conn:
            row = conn.execute(
                "SELECT status, reason FROM rollouts WHERE id = ?", (rollout_id,)
            ).fetchone()
        return (row[0], row[1]) if row else ("", "")

    def register(self, seed: int, signing_key: Path) -> int:
        bundle = model_bundle(self.root / f"bundle-{seed}", seed=seed, signing_key=signing_key)
        registry = SqliteRegistry.open(self.root / "registry")
        try:
            return registry.register(bundle).version
        finally:
            registry.close()

    def start_rollout(self, version: int) -> None:
        command = EdgewardProcess(
            [
                *("rollout", "start", str(version), "--force", "--reason", "test"),
                *("--config", str(self.config)),
            ],
            self.root / f"rollout-{version}.log",
        ).start()
        assert command.process is not None
        assert command.process.wait(60) == 0, command.log_text()


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    port = free_port()
    pki = init_pki(tmp_path / "pki", control_plane_address=f"tcp://127.0.0.1:{port}")
    config = tmp_path / "control.toml"
    config.write_text(f"""
[control]
state_dir = "{tmp_path / "control"}"
registry_dir = "{tmp_path / "registry"}"
pki_dir = "{tmp_path / "pki"}"
bind = "tcp://127.0.0.1:{port}"
heartbeat_interval_s = 1.0
tick_interval_s = 0.2
[control.gate]
mode = "manual"
[control.rollout]
canary_fraction = 0.5
waves = [1.0]
bake_s = 0.2
max_bake_extension_s = 0.5
activation_timeout_s = 60.0
offer_resend_s = 2.0
""")
    agents = []
    for site in SITES:
        issue_device(pki, site, out=tmp_path / f"{site}.bundle")
        enroll_device(tmp_path / f"{site}.bundle", tmp_path / site)
        (tmp_path / f"{site}.toml").write_text(f"""
[agent]
site = "{site}"
data_dir = "{tmp_path / site}"
[agent.control]
heartbeat_interval_s = 1.0
""")
        agents.append(
            EdgewardProcess(
                ["agent", "run", "--config", str(tmp_path / f"{site}.toml")],
                tmp_path / f"{site}.log",
            )
        )
    SqliteRegistry.open(tmp_path / "registry").close()
    control = EdgewardProcess(
        ["control-plane", "serve", "--config", str(config), "--no-dashboard"],
        tmp_path / "control.log",
    ).start()
    for agent in agents:
        agent.start()
    built = Fleet(root=tmp_path, pki=pki, config=config, control=control)
    try:
        control.wait_for_log("control plane serving on", timeout=60)
        wait(lambda: len(built.active_versions()) == 1 and _sites(built) == 2, 60, "hellos")
        yield built
    finally:
        for process in (control, *agents):
            process.kill()


def _sites(fleet: Fleet) -> int:
    with fleet.db() as conn:
        return int(conn.execute("SELECT count(*) FROM sites").fetchone()[0])


def _while_down(fleet: Fleet, change: Callable[[], None]) -> None:
    """Stop the control plane, change its storage, start it again."""
    assert fleet.control.terminate() == 0
    change()
    fleet.control.start()
    fleet.control.wait_for_log("control plane serving on", count=2, timeout=60)


def _replace_files(version_dir: Path, source: Path | None = None) -> None:
    """Overwrite the registry's (read-only) files of one version: flip a byte, or copy."""
    for name in (WEIGHTS_FILE, MANIFEST_FILE):
        os.chmod(version_dir / name, stat.S_IRUSR | stat.S_IWUSR)
    if source is None:
        weights = version_dir / WEIGHTS_FILE
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0xFF
        weights.write_bytes(bytes(data))
    else:
        for name in (WEIGHTS_FILE, MANIFEST_FILE):
            shutil.copyfile(source / name, version_dir / name)


def roll_out(fleet: Fleet, version: int) -> None:
    fleet.start_rollout(version)
    wait(lambda: fleet.rollout(version)[0] == "completed", 60, f"rollout of {version}")
    wait(lambda: fleet.active_versions() == {version}, 30, f"every site on {version}")


def test_tampered_foreign_and_older_bundles_are_refused_with_their_reason(fleet: Fleet) -> None:
    signing_key = fleet.pki.signing.private_key
    for seed in (1, 2):
        roll_out(fleet, fleet.register(seed, signing_key))  # rollouts 1 and 2

    # Rollout 3: an older version, offered without a rollback order.
    fleet.start_rollout(1)
    wait(lambda: fleet.rollout(3)[0] == "rolled_back", 60, "the downgrade refused")
    assert "version 1 is not newer than the active version 2" in fleet.rollout(3)[1]

    # Rollout 4: weights changed on the control plane's disk after they were signed.
    tampered = fleet.register(3, signing_key)

    def tamper() -> None:
        fleet.start_rollout(tampered)
        _replace_files(fleet.root / "registry" / "models" / str(tampered))

    _while_down(fleet, tamper)
    wait(lambda: fleet.rollout(4)[0] == "rolled_back", 60, "the tampered bundle refused")
    assert "does not match the manifest's digest" in fleet.rollout(4)[1]

    # Rollout 5: a registered bundle swapped for one signed by another key.
    other = init_pki(fleet.root / "other-pki", control_plane_address="tcp://127.0.0.1:9")
    foreign = model_bundle(fleet.root / "foreign", seed=4, signing_key=other.signing.private_key)
    swapped = fleet.register(4, signing_key)

    def swap() -> None:
        fleet.start_rollout(swapped)
        _replace_files(fleet.root / "registry" / "models" / str(swapped), foreign)

    _while_down(fleet, swap)
    wait(lambda: fleet.rollout(5)[0] == "rolled_back", 60, "the foreign bundle refused")
    assert "signature" in fleet.rollout(5)[1]

    assert fleet.active_versions() == {2}, "every site kept the model it had"
    for site in SITES:
        assert (fleet.root / site / "models" / "2").is_dir()
        assert not (fleet.root / site / "models" / str(tampered)).exists()
        assert not (fleet.root / site / "models" / str(swapped)).exists()
