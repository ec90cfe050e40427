"""Accounts, sessions and API tokens as the rest of the control plane sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from control_plane.access import Principal, Role


@dataclass(frozen=True, kw_only=True, slots=True)
class User:
    """An account (never its password hash)."""

    name: str
    role: Role
    created_at: float
    created_by: str
    disabled: bool
    failed_logins: int
    locked_until: float | None
    last_login_at: float | None

    def locked(self, now: float) -> bool:
        """Return whether repeated failed logins lock the account at `now`."""
        return self.locked_until is not None and now < self.locked_until

    def to_dict(self) -> dict[str, Any]:
        """Return the account as plain JSON."""
        return {
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "disabled": self.disabled,
            "failed_logins": self.failed_logins,
            "locked_until": self.locked_until,
            "last_login_at": self.last_login_at,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """A dashboard login: the secret goes in the cookie, only its hash is stored."""

    secret: str
    principal: Principal
    expires_at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiToken:
    """A bearer token for the HTTP API (never its secret)."""

    id: int
    user: str
    label: str
    role: Role
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    def active(self, now: float) -> bool:
        """Return whether the token is accepted at `now`."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def to_dict(self) -> dict[str, Any]:
        """Return the token's record as plain JSON."""
        return {
            "id": self.id,
            "user": self.user,
            "label": self.label,
            "role": self.role.value,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }
