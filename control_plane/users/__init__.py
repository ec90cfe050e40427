"""People and API tokens: accounts with argon2id passwords, lockout, sessions, bearer tokens."""

from control_plane.users.accounts import AccountStore
from control_plane.users.auth import TOKEN_PREFIX, Authenticator
from control_plane.users.errors import AccountLocked, LoginFailed, UserError, WeakPassword
from control_plane.users.passwords import MIN_LENGTH, default_hasher
from control_plane.users.records import ApiToken, Session, User

__all__ = [
    "MIN_LENGTH",
    "TOKEN_PREFIX",
    "AccountLocked",
    "AccountStore",
    "ApiToken",
    "Authenticator",
    "LoginFailed",
    "Session",
    "User",
    "UserError",
    "WeakPassword",
    "default_hasher",
]
