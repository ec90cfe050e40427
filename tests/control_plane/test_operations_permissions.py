"""Every role by every action through the service layer: allowed ones work, the rest are refused.

The dashboard's pages and the HTTP API both call these operations, so this matrix is the one
place the permission table is proven against real state; tests/ui checks that pages show
exactly the buttons a role may press, and the API tests the same matrix with tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from control_plane.access import PERMISSIONS, AccessDenied, Permission, Principal, Role, allowed
from control_plane.operations import Operations
from tests.ui.state import CRITICAL, HIGH, SITES, build_operations

ROLLOUT = 1  # the seeded rollout of version 2
ROOT = Principal(name="setup", role=Role.ADMIN, via="local")

Call = Callable[[Operations, Principal], object]
Prepare = Callable[[Operations], object]


def _abort_seeded(ops: Operations) -> None:
    ops.abort(ROOT, ROLLOUT, reason="make room")


def _pause_seeded(ops: Operations) -> None:
    ops.pause(ROOT, ROLLOUT, reason="to resume")


def _issue_token(ops: Operations) -> None:
    ops.issue_token(ROOT, "operator", label="ci", role=None, ttl_s=None)


# action -> (the permission it needs, the call, what the state needs first)
ACTIONS: dict[str, tuple[Permission, Call, Prepare | None]] = {
    "overview": (Permission.VIEW, lambda o, w: o.overview(w), None),
    "sites": (Permission.VIEW, lambda o, w: o.sites(w), None),
    "models": (Permission.VIEW, lambda o, w: o.models(w), None),
    "rollouts": (Permission.VIEW, lambda o, w: o.rollouts(w), None),
    "approvals": (Permission.VIEW, lambda o, w: o.approvals(w), None),
    "audit": (Permission.VIEW, lambda o, w: o.audit(w), None),
    "revoke_site": (
        Permission.REVOKE_SITE,
        lambda o, w: o.revoke_site(w, SITES[2], reason="stolen"),
        None,
    ),
    "promote": (
        Permission.PROMOTE,
        lambda o, w: o.promote(w, 2, reason="better"),
        _abort_seeded,
    ),
    "promote_forced": (
        Permission.OVERRIDE_CRITICAL,
        lambda o, w: o.promote(w, 2, reason="forced", force=True),
        _abort_seeded,
    ),
    "pause": (Permission.CONTROL_ROLLOUT, lambda o, w: o.pause(w, ROLLOUT, reason="look"), None),
    "resume": (
        Permission.CONTROL_ROLLOUT,
        lambda o, w: o.resume(w, ROLLOUT, reason="go on"),
        _pause_seeded,
    ),
    "abort": (Permission.CONTROL_ROLLOUT, lambda o, w: o.abort(w, ROLLOUT, reason="stop"), None),
    "roll_back": (
        Permission.ROLL_BACK,
        lambda o, w: o.roll_back(w, ROLLOUT, reason="worse"),
        None,
    ),
    "approve": (Permission.DECIDE_APPROVAL, lambda o, w: o.approve(w, HIGH, comment="ok"), None),
    "approve_critical": (
        Permission.OVERRIDE_CRITICAL,
        lambda o, w: o.approve(w, CRITICAL, comment="I take it on me"),
        None,
    ),
    "deny": (Permission.DECIDE_APPROVAL, lambda o, w: o.deny(w, HIGH, comment="no"), None),
    "verify_audit": (Permission.VERIFY_AUDIT, lambda o, w: o.verify_audit(w), None),
    "export_audit": (Permission.EXPORT_AUDIT, lambda o, w: list(o.export_audit(w)), None),
    "users": (Permission.MANAGE_USERS, lambda o, w: o.users(w), None),
    "add_user": (
        Permission.MANAGE_USERS,
        lambda o, w: o.add_user(w, "newcomer", Role.AUDITOR, "a long enough secret"),
        None,
    ),
    "disable_user": (
        Permission.MANAGE_USERS,
        lambda o, w: o.set_disabled(
            w, "auditor" if w.name != "auditor" else "operator", disabled=True
        ),
        None,
    ),
    "unlock_user": (Permission.MANAGE_USERS, lambda o, w: o.unlock(w, "operator"), None),
    "tokens": (Permission.MANAGE_USERS, lambda o, w: o.tokens(w), None),
    "issue_token": (
        Permission.MANAGE_USERS,
        lambda o, w: o.issue_token(w, "auditor", label="scraper", role=None, ttl_s=3600),
        None,
    ),
    "revoke_token": (Permission.MANAGE_USERS, lambda o, w: o.revoke_token(w, 1), _issue_token),
}


def test_every_permission_is_exercised() -> None:
    assert {permission for permission, _, _ in ACTIONS.values()} == set(Permission)


def test_the_table_gives_each_role_what_the_issue_says() -> None:
    assert PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert PERMISSIONS[Role.OPERATOR] == {
        Permission.VIEW,
        Permission.VERIFY_AUDIT,
        Permission.EXPORT_AUDIT,
        Permission.PROMOTE,
        Permission.CONTROL_ROLLOUT,
        Permission.ROLL_BACK,
        Permission.DECIDE_APPROVAL,
    }
    assert PERMISSIONS[Role.AUDITOR] == {
        Permission.VIEW,
        Permission.VERIFY_AUDIT,
        Permission.EXPORT_AUDIT,
    }


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_can_do_exactly_what_the_table_allows(
    tmp_path: Path, role: Role, action: str
) -> None:
    ops = build_operations(tmp_path)
    permission, call, prepare = ACTIONS[action]
    if prepare is not None:
        prepare(ops)
    who = Principal(name=role.value, role=role)
    entries = ops.plane.audit.count()

    if allowed(role, permission):
        call(ops, who)
    else:
        with pytest.raises(
            AccessDenied, match=rf"^{role.value} \({role.value}\) is not allowed to"
        ):
            call(ops, who)
        assert ops.plane.audit.count() == entries, "a refused action left a trace of a change"
