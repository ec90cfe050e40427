"""Who may do what: the one permission table behind the dashboard's pages and the HTTP API.

Three roles. `admin` does everything; `operator` runs the pipeline (promote, roll out, pause,
resume, abort, roll back, approve and deny held decisions) but does not manage people or the
fleet's enrollment; `auditor` reads everything, changes nothing, and exports the audit log.
A page shows a button only when its role holds the button's permission, and the API refuses
the same action with 403: both ask `allowed()` of this table and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from control_plane.errors import ControlPlaneError


class Role(StrEnum):
    """A person's (or an API token's) role."""

    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """One thing a role may be allowed to do."""

    VIEW = "view"
    """Read every page and every read-only endpoint."""
    PROMOTE = "promote"
    """Start a rollout of a model version (the promotion gate still applies)."""
    CONTROL_ROLLOUT = "control_rollout"
    """Pause, resume or abort a rollout."""
    ROLL_BACK = "roll_back"
    """Roll a rollout (and its sites) back to the previous model."""
    DECIDE_APPROVAL = "decide_approval"
    """Approve or deny a held decision."""
    OVERRIDE_CRITICAL = "override_critical"
    """Approve a decision screened critical (an admin's override)."""
    REVOKE_SITE = "revoke_site"
    """Cut a site off the control plane."""
    VERIFY_AUDIT = "verify_audit"
    """Check the audit log's hash chain."""
    EXPORT_AUDIT = "export_audit"
    """Download the audit log."""
    MANAGE_USERS = "manage_users"
    """Create, disable and unlock accounts; issue and revoke API tokens for anyone."""


_READ: Final = frozenset({Permission.VIEW, Permission.VERIFY_AUDIT, Permission.EXPORT_AUDIT})
_OPERATE: Final = frozenset(
    {
        Permission.PROMOTE,
        Permission.CONTROL_ROLLOUT,
        Permission.ROLL_BACK,
        Permission.DECIDE_APPROVAL,
    }
)

PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: _READ | _OPERATE,
    Role.AUDITOR: _READ,
}
"""The permission table: every role and what it may do; anything not listed is denied."""


def allowed(role: Role, permission: Permission) -> bool:
    """Return whether `role` holds `permission`."""
    return permission in PERMISSIONS[role]


class AccessDenied(ControlPlaneError):
    """The person or token asking does not hold the permission an action needs."""

    exit_code = 9


class NotAuthenticated(ControlPlaneError):
    """No valid session or token came with the request."""

    exit_code = 9


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    """Who is asking: an account's name and its role (for a token, the token's role)."""

    name: str
    role: Role
    via: str = "session"
    """`session` (a dashboard login), `token` (the HTTP API) or `local` (a host command)."""

    def can(self, permission: Permission) -> bool:
        """Return whether this principal holds `permission`."""
        return allowed(self.role, permission)

    def require(self, permission: Permission) -> None:
        """Raise `AccessDenied` unless this principal holds `permission`."""
        if not self.can(permission):
            raise AccessDenied(
                f"{self.name} ({self.role}) is not allowed to {_PHRASES[permission]}."
            )


_PHRASES: Final[Mapping[Permission, str]] = {
    Permission.VIEW: "view the control plane",
    Permission.PROMOTE: "promote a model",
    Permission.CONTROL_ROLLOUT: "pause, resume or abort a rollout",
    Permission.ROLL_BACK: "roll back a rollout",
    Permission.DECIDE_APPROVAL: "approve or deny a held decision",
    Permission.OVERRIDE_CRITICAL: "approve a decision screened critical",
    Permission.REVOKE_SITE: "revoke a site",
    Permission.VERIFY_AUDIT: "verify the audit log",
    Permission.EXPORT_AUDIT: "export the audit log",
    Permission.MANAGE_USERS: "manage users and tokens",
}
"""How a denial names the action, as the end of a sentence."""
