"""The rollouts page: every role sees the rollout, its waves and sites; pause, resume, abort
and roll back show only for the roles and states they apply to, and change the rollout."""

from __future__ import annotations

import inspect
import time
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from control_plane.access import AccessDenied, Principal, Role
from control_plane.operations import Operations
from tests.ui.conftest import login

ADMIN = Principal(name="admin", role=Role.ADMIN)
CONTROL_MARKERS = ("action-pause", "action-resume", "action-abort", "action-roll-back")


async def open_rollouts(user: User, name: str) -> None:
    """Log in as `name` and open the rollouts page."""
    await login(user, name)
    await user.should_see(marker="who")
    await user.open("/rollouts")
    await user.should_see("Rollout 1: v2 replacing v1")


def table_rows(user: User, marker: str) -> list[dict[str, Any]]:
    """Return the rows of the table marked `marker`."""
    (table,) = user.find(kind=ui.table, marker=marker).elements
    return list(table.rows)


async def tick(user: User) -> None:
    """Run the page's live update now (its timer waits `refresh_s`, a minute in tests)."""
    (timer,) = user.find(kind=ui.timer).elements
    with user:
        result = timer.callback()  # type: ignore[misc]
        if inspect.isawaitable(result):
            await result


async def confirm(user: User, marker: str, question: str, reason: str) -> None:
    """Press the button marked `marker`, wait for its question, give a reason and confirm."""
    user.find(marker=marker).click()
    await user.should_see(question)
    user.find(marker="dialog-reason").type(reason)
    user.find(marker="dialog-confirm").click()


def first_wave_reported(operations: Operations) -> None:
    """Let the canary wave's site activate and report its live MAE against its baseline."""
    store = operations.plane.engine.store
    now = time.time()
    store.set_wave(1, 0, status="baking", now=now, bake_until=now + 600)
    store.set_site(
        1, "site-b", status="activated", now=now, baseline_mae=0.2, live_mae=0.15, offered=True
    )


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_sees_the_rollout(user: User, operations: Operations, role: Role) -> None:
    first_wave_reported(operations)
    await open_rollouts(user, role.value)
    await user.should_see("running, wave 1 of 3.")
    (rollout,) = table_rows(user, "rollouts")
    assert rollout | {"updated": None} == {
        "id": 1,
        "version": "v2",
        "baseline": "v1",
        "status": "running",
        "created_by": "test",
        "updated": None,
    }
    waves = table_rows(user, "waves")
    assert [(w["wave"], w["status"], w["sites"]) for w in waves] == [
        (1, "baking", 1),
        (2, "pending", 1),
        (3, "pending", 1),
    ]
    sites = {row["site"]: row for row in table_rows(user, "rollout-sites")}
    assert sites["site-b"] | {"detail": None} == {
        "site": "site-b",
        "wave": 1,
        "status": "activated",
        "baseline_mae": "0.2",
        "live_mae": "0.15",
        "detail": None,
    }
    (chart,) = user.find(kind=ui.echart, marker="wave-health").elements
    baseline, live = chart.options["series"]
    assert baseline["data"] == [0.2, None, None]
    assert live["data"] == [0.15, None, None]


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("admin", {"action-pause", "action-abort", "action-roll-back"}),
        ("operator", {"action-pause", "action-abort", "action-roll-back"}),
        ("auditor", set()),
    ],
)
async def test_controls_follow_the_role(user: User, role: str, shown: set[str]) -> None:
    await open_rollouts(user, role)
    for marker in CONTROL_MARKERS:
        if marker in shown:
            await user.should_see(marker=marker)
        else:
            await user.should_not_see(marker=marker)


async def test_an_operator_pauses_resumes_and_aborts(user: User, operations: Operations) -> None:
    await open_rollouts(user, "operator")
    await confirm(user, "action-pause", "Pause rollout 1", "night freeze")
    await user.should_see("Rollout 1 is paused.")
    assert operations.rollout(ADMIN, 1).status == "paused"
    await user.should_see("paused, wave 1 of 3. Last change: night freeze")
    await user.should_not_see(marker="action-pause")

    await confirm(user, "action-resume", "Resume rollout 1", "freeze over")
    await user.should_see("Rollout 1 is running again.")
    assert operations.rollout(ADMIN, 1).status == "running"

    await confirm(user, "action-abort", "Abort rollout 1", "alarms at the canary")
    await user.should_see("Rollout 1 is aborted.")
    assert operations.rollout(ADMIN, 1).status == "aborted"
    for marker in CONTROL_MARKERS:
        await user.should_not_see(marker=marker)


async def test_an_admin_rolls_back(user: User, operations: Operations) -> None:
    await open_rollouts(user, "admin")
    await confirm(user, "action-roll-back", "Roll back rollout 1", "worse at the canary")
    await user.should_see("Rollout 1 is rolled back.")
    assert operations.rollout(ADMIN, 1).status == "rolled_back"
    assert table_rows(user, "rollouts")[0]["status"] == "rolled back"


async def test_the_page_follows_changes_made_elsewhere(user: User, operations: Operations) -> None:
    await open_rollouts(user, "operator")
    operations.pause(ADMIN, 1, reason="from the API")
    await tick(user)
    await user.should_see("paused, wave 1 of 3. Last change: from the API")
    await user.should_see(marker="action-resume")
    await user.should_not_see(marker="action-pause")


async def test_a_refused_change_is_a_sentence(user: User, operations: Operations) -> None:
    await open_rollouts(user, "operator")
    user.find(marker="action-pause").click()
    await user.should_see("Pause rollout 1")
    operations.pause(ADMIN, 1, reason="someone was quicker")
    user.find(marker="dialog-reason").type("night freeze")
    user.find(marker="dialog-confirm").click()
    await user.should_see("rollout 1 is paused; this needs it to be running")


def test_an_auditor_cannot_control_a_rollout(operations: Operations) -> None:
    auditor = Principal(name="auditor", role=Role.AUDITOR)
    for call in (operations.pause, operations.resume, operations.abort):
        with pytest.raises(AccessDenied, match="not allowed to pause, resume or abort"):
            call(auditor, 1, reason="curious")
    with pytest.raises(AccessDenied, match="not allowed to roll back"):
        operations.roll_back(auditor, 1, reason="curious")
    assert operations.rollout(ADMIN, 1).status == "running"
