"""Every page, for every role: the action buttons shown are exactly those the table allows.

Each page lists the actions it offers in the seeded state (`PAGE_ACTIONS`); for each role the
test opens the page, waits for its content, and expects the button marked `action-<name>`
if and only if `control_plane.access` grants the role that action's permission. That the
service refuses the same actions is proven in tests/control_plane/test_operations_permissions.py
and, with tokens, in tests/ui/test_api.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from nicegui.testing import User

from control_plane.access import Principal, Role
from control_plane.operations import Operations
from control_plane.users import LoginFailed
from tests.ui.conftest import open_as
from ui.pages import ACTIONS, PAGES

ROOT = Principal(name="setup", role=Role.ADMIN, via="local")


def _pause(ops: Operations) -> None:
    ops.pause(ROOT, 1, reason="to show resume")


def _token_and_failed_login(ops: Operations) -> None:
    ops.issue_token(ROOT, "auditor", label="scraper", role=None, ttl_s=None)
    with pytest.raises(LoginFailed):
        ops.auth.login("operator", "not the password")


@dataclass(frozen=True)
class PageCase:
    """A page, what shows it has loaded, the actions it offers, and the state it needs."""

    path: str
    loaded: str
    actions: tuple[str, ...]
    prepare: Callable[[Operations], None] | None = None


PAGE_ACTIONS: tuple[PageCase, ...] = (
    PageCase(path="/", loaded="sites-online", actions=()),
    PageCase(path="/fleet", loaded="sites", actions=("revoke-site",)),
    PageCase(path="/models", loaded="versions", actions=("promote",)),
    PageCase(path="/rollouts", loaded="rollouts", actions=("pause", "abort", "roll-back")),
    PageCase(path="/rollouts", loaded="rollouts", actions=("resume",), prepare=_pause),
    PageCase(path="/risk", loaded="approval-d-high", actions=("approve", "deny")),
    PageCase(path="/data", loaded="data-sites", actions=()),
    PageCase(path="/audit", loaded="audit-entries", actions=("verify-audit", "export-audit")),
    PageCase(
        path="/users",
        loaded="accounts",
        actions=("add-user", "disable-user", "unlock-user", "issue-token", "revoke-token"),
        prepare=_token_and_failed_login,
    ),
)


def test_every_page_and_every_action_is_in_the_matrix() -> None:
    assert {case.path for case in PAGE_ACTIONS} == {page.path for page in PAGES}
    assert {a for case in PAGE_ACTIONS for a in case.actions} == set(ACTIONS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(
    "case", PAGE_ACTIONS, ids=[f"{c.path}:{'+'.join(c.actions) or 'view'}" for c in PAGE_ACTIONS]
)
async def test_each_role_sees_exactly_the_actions_it_may_take(
    user: User, operations: Operations, role: Role, case: PageCase
) -> None:
    if case.prepare is not None:
        case.prepare(operations)
    who = Principal(name=role.value, role=role)
    page = next(p for p in PAGES if p.path == case.path)

    await open_as(user, role.value, case.path)

    if not who.can(page.permission):
        await user.should_see(f"Your role ({role.value}) cannot open this page.")
        await user.should_not_see(marker=case.loaded)
    else:
        await user.should_see(marker=case.loaded)
    for action in case.actions:
        if who.can(page.permission) and who.can(ACTIONS[action]):
            await user.should_see(marker=f"action-{action}")
        else:
            await user.should_not_see(marker=f"action-{action}")
