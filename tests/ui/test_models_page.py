"""The models page: versions, per-site metrics, the gate, lineage and decisions; promote and
roll back for the roles that may."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from control_plane.access import AccessDenied, Principal, Role
from control_plane.operations import Operations
from edgeward.bundles import write_bundle
from tests.control_plane.samples import sample_arrays, sample_fields
from tests.ui.conftest import login
from tests.ui.state import SITES

ADMIN = Principal(name="admin", role=Role.ADMIN)
LINEAGE: dict[str, Any] = {
    "run_id": "run-3",
    "rounds": 5,
    "strategy": "fedavg",
    "started_from": 1,
    "sites": {
        site: {
            "rows": 1000 + i,
            "quarantined": 2,
            "first_ts_ms": 1_700_000_000_000,
            "last_ts_ms": 1_700_086_400_000,
            "fingerprint": f"{i}" * 64,
        }
        for i, site in enumerate(SITES)
    },
}


async def open_models(user: User, name: str) -> None:
    """Log in as `name` and open the models page."""
    await login(user, name)
    await user.should_see(marker="who")
    await user.open("/models")


def table_rows(user: User, marker: str) -> list[dict[str, Any]]:
    """Return the rows of the table marked `marker`."""
    (table,) = user.find(kind=ui.table, marker=marker).elements
    return list(table.rows)


def register_third(operations: Operations, root: Path) -> None:
    """Register v3 with a full lineage and paired per-site metrics."""
    per_site = {
        site: {"examples": 100, "challenger_mae": 0.1 + i / 100, "champion_mae": 0.2}
        for i, site in enumerate(SITES)
    }
    bundle = root / "bundle-3"
    fields = sample_fields(3, metrics={"per_site": per_site}, lineage=LINEAGE, parent_version=1)
    write_bundle(bundle, arrays=sample_arrays(3), **fields)
    operations.plane.registry.register(bundle)


def complete_the_rollout(operations: Operations) -> None:
    """Mark the seeded rollout of v2 completed and v2 champion (as the engine would)."""
    operations.plane.engine.store.set_status(1, "completed", reason="all waves passed", now=0.0)
    operations.plane.registry.set_alias("champion", 2, actor="test", reason="rollout 1 completed")


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_sees_versions_and_evidence(user: User, role: Role) -> None:
    await open_models(user, role.value)
    await user.should_see("v2 passes the gate against v1")
    versions = {row["version"]: row for row in table_rows(user, "versions")}
    assert versions["v1"]["aliases"] == "champion"
    assert versions["v2"]["schema"] == "f" * 12
    assert {row["result"] for row in table_rows(user, "gate")} == {"passed"}
    await user.should_see("Trained in run run-2 over 3 rounds")
    await user.should_see("No site has reported a decision made with v2.")
    (chart,) = user.find(kind=ui.echart, marker="site-metrics").elements
    assert chart.options["xAxis"]["data"] == list(SITES)


async def test_a_version_shows_its_lineage_metrics_and_decisions(
    user: User, operations: Operations, tmp_path: Path
) -> None:
    register_third(operations, tmp_path)
    for index, risk in enumerate(("low", "low", "high")):
        operations.plane.approvals.store.add_report(
            decision_id=f"d-{index}",
            outcome="executed",
            site=SITES[0],
            risk=risk,
            action="scale_out",
            model_version=3,
            at=time.time(),
            payload={},
            now=time.time(),
        )
    await open_models(user, "auditor")
    await user.should_see("Decisions made with v3, by risk: 1 high, 2 low.")
    await user.should_see("Trained in run run-3 over 5 rounds (fedavg), starting from v1.")
    lineage = {row["site"]: row for row in table_rows(user, "lineage-sites")}
    assert lineage["site-b"]["rows"] == "1001"
    assert lineage["site-b"]["first"] == "2023-11-14 22:13:20"
    (chart,) = user.find(kind=ui.echart, marker="site-metrics").elements
    challenger, champion = chart.options["series"]
    assert challenger["data"] == pytest.approx([0.1, 0.11, 0.12])
    assert champion["data"] == [0.2, 0.2, 0.2]
    assert {row["rule"] for row in table_rows(user, "gate")} >= {"fleet improvement", "win share"}


@pytest.mark.parametrize(("role", "may"), [("admin", True), ("operator", True), ("auditor", False)])
async def test_promote_and_roll_back_only_for_roles_that_may(
    user: User, operations: Operations, role: str, may: bool
) -> None:
    complete_the_rollout(operations)
    await open_models(user, role)
    await user.should_see("The champion came from rollout 1")
    for marker in ("action-promote", "action-roll-back"):
        if may:
            await user.should_see(marker=marker)
        else:
            await user.should_not_see(marker=marker)


async def test_an_operator_promotes_a_version(user: User, operations: Operations) -> None:
    operations.abort(ADMIN, 1, reason="make room")
    await open_models(user, "operator")
    await user.should_see("v2 passes the gate")
    user.find(marker="action-promote").click()
    await user.should_see("Promote v2: roll it out to the fleet in waves.")
    user.find(marker="dialog-reason").type("better on every site")
    user.find(marker="dialog-confirm").click()
    await user.should_see("Rollout 2 of v2 started.")
    rollout = operations.rollout(ADMIN, 2)
    assert (rollout.version, rollout.status, rollout.created_by) == (2, "running", "operator")


async def test_a_refused_promotion_is_a_sentence(user: User, operations: Operations) -> None:
    await open_models(user, "admin")
    await user.should_see("v2 passes the gate")
    user.find(marker="action-promote").click()
    await user.should_see("Promote v2")
    user.find(marker="dialog-reason").type("again")
    user.find(marker="dialog-confirm").click()
    await user.should_see("another rollout is in progress")
    assert len(operations.rollouts(ADMIN)) == 1
    await user.should_not_see("Traceback")


async def test_an_admin_rolls_back_the_champion(user: User, operations: Operations) -> None:
    complete_the_rollout(operations)
    await open_models(user, "admin")
    user.find(marker="action-roll-back").click()
    await user.should_see("Roll back rollout 1: the champion and its sites return")
    user.find(marker="dialog-reason").type("alarms doubled")
    user.find(marker="dialog-confirm").click()
    await user.should_see("Rollout 1 is rolled back.")
    assert operations.rollout(ADMIN, 1).status == "rolled_back"
    champion = operations.champion(ADMIN)
    assert champion is not None
    assert champion.version == 1


def test_an_auditor_cannot_promote_or_roll_back(operations: Operations) -> None:
    auditor = Principal(name="auditor", role=Role.AUDITOR)
    with pytest.raises(AccessDenied, match="not allowed to promote a model"):
        operations.promote(auditor, 2, reason="curious")
    with pytest.raises(AccessDenied, match="not allowed to roll back a rollout"):
        operations.roll_back(auditor, 1, reason="curious")
    assert operations.rollout(ADMIN, 1).status == "running"


def test_the_gate_preview_records_nothing(operations: Operations) -> None:
    before = len(operations.audit(ADMIN, limit=1000))
    report = operations.gate_report(Principal(name="auditor", role=Role.AUDITOR), 2)
    assert report.passed
    assert len(operations.audit(ADMIN, limit=1000)) == before
