"""The dashboard's pages: one function each, listed once in `PAGES` (routes and navigation).

Every button that changes something is marked `action-<name>` (NiceGUI's `.mark`), where
`<name>` is a key of `ACTIONS`: the permission it needs. A role sees a button only when it
holds that permission; tests/ui/test_permissions.py checks every page for every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from control_plane.access import Permission
from ui.frame import PageSpec, register
from ui.pages.audit import audit_page
from ui.pages.data import data_page
from ui.pages.fleet import fleet_page
from ui.pages.login import register_login
from ui.pages.models import models_page
from ui.pages.overview import overview_page
from ui.pages.risk import risk_page
from ui.pages.rollouts import rollouts_page
from ui.pages.users import users_page

PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec(path="/", title="Overview", icon="dashboard", body=overview_page),
    PageSpec(path="/fleet", title="Fleet", icon="router", body=fleet_page),
    PageSpec(path="/models", title="Models", icon="model_training", body=models_page),
    PageSpec(path="/rollouts", title="Rollouts", icon="published_with_changes", body=rollouts_page),
    PageSpec(path="/risk", title="Risk", icon="gpp_maybe", body=risk_page),
    PageSpec(path="/data", title="Data", icon="storage", body=data_page),
    PageSpec(path="/audit", title="Audit", icon="fact_check", body=audit_page),
    PageSpec(
        path="/users",
        title="Users",
        icon="group",
        body=users_page,
        permission=Permission.MANAGE_USERS,
    ),
)
"""Every page behind the login, in navigation order."""

ACTIONS: Final[Mapping[str, Permission]] = {
    "revoke-site": Permission.REVOKE_SITE,
    "promote": Permission.PROMOTE,
    "pause": Permission.CONTROL_ROLLOUT,
    "resume": Permission.CONTROL_ROLLOUT,
    "abort": Permission.CONTROL_ROLLOUT,
    "roll-back": Permission.ROLL_BACK,
    "approve": Permission.DECIDE_APPROVAL,
    "deny": Permission.DECIDE_APPROVAL,
    "verify-audit": Permission.VERIFY_AUDIT,
    "export-audit": Permission.EXPORT_AUDIT,
    "add-user": Permission.MANAGE_USERS,
    "disable-user": Permission.MANAGE_USERS,
    "unlock-user": Permission.MANAGE_USERS,
    "issue-token": Permission.MANAGE_USERS,
    "revoke-token": Permission.MANAGE_USERS,
}
"""Every action button's mark name and the permission it needs."""


def register_pages() -> None:
    """Register the login page and every page in `PAGES`."""
    register_login()
    register(PAGES)
