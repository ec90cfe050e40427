"""A control plane's state as the dashboard's tests see it, built with the real stores.

Three sites (enrolled with `certs`, reporting heartbeats), two registered versions with the
first as champion, a running rollout of the second, two held decisions (one high, one
critical) and an account per role. Passwords are hashed with a cheap argon2 setting: the
cost parameters are not what these tests are about.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher

from certs import init_pki, issue_device
from control_plane.access import Role
from control_plane.local import LocalPlane, open_local
from control_plane.operations import Operations
from control_plane.users import AccountStore
from edgeward.bundles import write_bundle
from tests.control_plane.samples import sample_arrays, sample_fields
from tests.control_plane.test_approvals import approval_request

SITES: Final = ("site-a", "site-b", "site-c")
PASSWORD: Final = "correct horse battery"
ACCOUNTS: Final = {role: role.value for role in Role}
"""Every role has an account named after it."""
HIGH: Final = "d-high"
CRITICAL: Final = "d-critical"


def fast_hasher() -> PasswordHasher:
    """Return argon2id at its cheapest (tests only)."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def write_config(root: Path) -> Path:
    """Write a control plane settings file under `root`; return its path."""
    path = root / "control.toml"
    path.write_text(
        f"""
[control]
state_dir = "{root / "state"}"
registry_dir = "{root / "registry"}"
pki_dir = "{root / "pki"}"

[control.gate]
min_sites = 2
min_improvement = -1.0
min_win_share = 0.0
significance = 1.0
mode = "manual"

[control.dashboard]
refresh_s = 60
max_failed_logins = 3
"""
    )
    return path


def seed(plane: LocalPlane, root: Path) -> None:
    """Fill `plane` with sites, models, a rollout and held decisions."""
    pki = init_pki(plane.settings.pki_dir, control_plane_address="tcp://127.0.0.1:9")
    now = time.time()
    for index, site in enumerate(SITES):
        issue_device(pki, site, out=root / f"{site}.bundle")
        plane.fleet.hello(
            site=site,
            agent_version="test",
            active_version=1,
            previous_version=None,
            schema_hash="f" * 64,
        )
        plane.fleet.heartbeat(
            site=site,
            active_version=1,
            health={"ingest_rate": 10.0 + index, "quarantine_rate": 0.01, "quarantined.range": 3},
            quality={"live_mae": 0.1 + index / 100, "samples": 50},
            now=now,
        )
    plane.fleet.flush()
    per_site = {s: {"examples": 100, "challenger_mae": 0.1} for s in SITES}
    for seed_number in (1, 2):
        bundle = root / f"bundle-{seed_number}"
        fields = sample_fields(
            seed_number,
            metrics={"per_site": per_site},
            lineage={"run_id": f"run-{seed_number}", "rounds": 3, "sites": {}},
        )
        write_bundle(bundle, arrays=sample_arrays(seed_number), **fields)
        plane.registry.register(bundle)
    plane.registry.set_alias("champion", 1, actor="test", reason="the first model")
    plane.engine.start(2, actor="test", plan=plane.settings.rollout.plan())
    far = now + 30 * 86400
    for decision_id, risk in ((HIGH, "high"), (CRITICAL, "critical")):
        plane.approvals.intake.request(
            SITES[0], approval_request(decision_id, risk=risk, site=SITES[0], expires_at=far)
        )


def build_operations(root: Path) -> Operations:
    """Return operations over a seeded control plane under `root`, with one account per role."""
    plane = open_local(write_config(root))
    seed(plane, root)
    accounts = AccountStore(plane.writer, plane.audit, hasher=fast_hasher())
    for role, name in ACCOUNTS.items():
        accounts.add(name, role, PASSWORD, actor="test")
    return Operations(plane, accounts=accounts)
