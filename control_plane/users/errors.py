"""What can go wrong with accounts, logins and tokens; each message is a sentence to show."""

from __future__ import annotations

from control_plane.access import NotAuthenticated
from control_plane.errors import ControlPlaneError


class UserError(ControlPlaneError):
    """An account cannot be created or changed as asked."""


class WeakPassword(UserError):
    """A new password does not meet the rules."""


class LoginFailed(NotAuthenticated):
    """The name and password do not match an active, unlocked account."""


class AccountLocked(LoginFailed):
    """Too many failed logins in a row: the account refuses logins for a while."""
