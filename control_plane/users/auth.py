"""Logins, sessions and API tokens: turn a password, a cookie or a bearer token into a Principal.

A wrong password counts against its account; `max_failed_logins` in a row lock it for
`lockout_s` (during which even the right password is refused, so guessing stops paying) until
the time runs out or an admin unlocks it. A session ends `session_ttl_s` after login. An API
token carries a role no greater than its owner's and stops working when revoked, expired, or
its owner is disabled. Secrets are random 256-bit strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

from control_plane.access import PERMISSIONS, NotAuthenticated, Principal, Role
from control_plane.settings import DashboardSettings
from control_plane.state import AuditLog, Writer
from control_plane.users.accounts import AccountStore
from control_plane.users.errors import AccountLocked, LoginFailed, UserError
from control_plane.users.passwords import matches
from control_plane.users.records import ApiToken, Session

TOKEN_PREFIX: Final = "ew_"  # noqa: S105 (a prefix that marks tokens, not a secret)
_WRONG: Final = "Wrong account name or password."
_TOKEN_COLUMNS: Final = "id, user, label, role, created_at, expires_at, last_used_at, revoked_at"  # noqa: S105 (column names)
# A token's last use is written at most this often, so reads do not turn into writes.
_LAST_USED_EVERY_S: Final = 60.0


def secret_hash(secret: str) -> str:
    """Return the stored form of a session or token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _token_from_row(row: Any) -> ApiToken:
    return ApiToken(
        id=row[0],
        user=row[1],
        label=row[2],
        role=Role(row[3]),
        created_at=row[4],
        expires_at=row[5],
        last_used_at=row[6],
        revoked_at=row[7],
    )


class Authenticator:
    """Check passwords, keep sessions, issue and check API tokens."""

    def __init__(
        self,
        writer: Writer,
        audit: AuditLog,
        accounts: AccountStore,
        settings: DashboardSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._writer = writer
        self._audit = audit
        self.accounts = accounts
        self.settings = settings
        self._clock = clock
        # Verified against when the account does not exist, so both cases take as long.
        self._decoy = accounts.hasher.hash(secrets.token_hex(16))

    # -- logins -------------------------------------------------------------------
    def login(self, name: str, password: str) -> Session:
        """Return a new session for `name`, or raise `LoginFailed` / `AccountLocked`."""
        now = self._clock()
        user = self.accounts.find(name)
        if user is None:
            matches(self.accounts.hasher, self._decoy, password)
            raise LoginFailed(_WRONG)
        if user.locked(now):
            raise AccountLocked(self._locked_message(user.locked_until or now, now))
        stored = self._writer.db.execute(
            "SELECT password_hash FROM users WHERE name = ?", (name,)
        ).fetchone()[0]
        if not matches(self.accounts.hasher, stored, password) or user.disabled:
            self._failed(name, user.failed_logins + 1, now)
        secret = secrets.token_urlsafe(32)
        expires_at = now + self.settings.session_ttl_s
        with self._writer.transaction() as db:
            db.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? "
                "WHERE name = ?",
                (now, name),
            )
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO sessions (token_hash, user, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (secret_hash(secret), name, now, expires_at),
            )
            self._audit.record(actor=name, action="user.login", subject=name, now=now)
        principal = Principal(name=name, role=user.role, via="session")
        return Session(secret=secret, principal=principal, expires_at=expires_at)

    def _failed(self, name: str, failures: int, now: float) -> None:
        """Count a failed login (locking the account at the limit) and raise."""
        lock = failures >= self.settings.max_failed_logins
        locked_until = now + self.settings.lockout_s if lock else None
        with self._writer.transaction() as db:
            db.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?",
                (0 if lock else failures, locked_until, name),
            )
            if lock:
                self._audit.record(
                    actor=name,
                    action="user.locked",
                    subject=name,
                    detail={"failed_logins": failures, "until": locked_until},
                    now=now,
                )
        if locked_until is not None:
            raise AccountLocked(self._locked_message(locked_until, now))
        raise LoginFailed(_WRONG)

    def _locked_message(self, until: float, now: float) -> str:
        minutes = max(1, math.ceil((until - now) / 60))
        return (
            f"This account is locked after {self.settings.max_failed_logins} failed logins; "
            f"try again in {minutes} min or ask an admin to unlock it."
        )

    def session(self, secret: str) -> Principal:
        """Return who holds the session `secret`; raise `NotAuthenticated` if it is not valid."""
        row = self._writer.db.execute(
            "SELECT s.user, u.role FROM sessions s JOIN users u ON u.name = s.user "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
            (secret_hash(secret), self._clock()),
        ).fetchone()
        if row is None:
            raise NotAuthenticated("Your session has ended; log in again.")
        return Principal(name=row[0], role=Role(row[1]), via="session")

    def logout(self, secret: str) -> None:
        """End the session `secret` (nothing happens if it already ended)."""
        with self._writer.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (secret_hash(secret),))

    # -- API tokens ---------------------------------------------------------------
    def issue_token(
        self, user: str, *, label: str, role: Role | None, ttl_s: float | None, actor: str
    ) -> tuple[ApiToken, str]:
        """Create a token for `user` with `role` (default: the user's); return it and its secret."""
        owner = self.accounts.get(user)
        granted = role or owner.role
        if not PERMISSIONS[granted] <= PERMISSIONS[owner.role]:
            raise UserError(f"A token of {user} ({owner.role}) cannot carry the role {granted}.")
        if not label.strip():
            raise UserError("A token needs a label saying what it is for.")
        now = self._clock()
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._writer.transaction() as db:
            cursor = db.execute(
                "INSERT INTO api_tokens (token_hash, user, label, role, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (secret_hash(secret), user, label, granted.value, now, ttl_s and now + ttl_s),
            )
            token_id = int(cursor.lastrowid or 0)
            self._audit.record(
                actor=actor,
                action="token.issue",
                subject=user,
                detail={"token": token_id, "label": label, "role": granted.value},
                now=now,
            )
        return self.token(token_id), secret

    def token(self, token_id: int) -> ApiToken:
        """Return the token with id `token_id`; raise `UserError` if there is none."""
        row = self._writer.db.execute(
            f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?",  # noqa: S608 (fixed)
            (token_id,),
        ).fetchone()
        if row is None:
            raise UserError(f"There is no API token {token_id}.")
        return _token_from_row(row)

    def tokens(self, user: str | None = None) -> list[ApiToken]:
        """Return the tokens (of `user`, or everyone's), newest first."""
        query = f"SELECT {_TOKEN_COLUMNS} FROM api_tokens"  # noqa: S608 (fixed columns)
        rows = self._writer.db.execute(
            query + (" WHERE user = ? ORDER BY id DESC" if user else " ORDER BY id DESC"),
            (user,) if user else (),
        )
        return [_token_from_row(row) for row in rows]

    def revoke_token(self, token_id: int, *, actor: str) -> ApiToken:
        """Stop a token from working (at once, for every request after this one)."""
        token = self.token(token_id)
        if token.revoked_at is None:
            with self._writer.transaction() as db:
                db.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (self._clock(), token_id)
                )
                self._audit.record(
                    actor=actor,
                    action="token.revoke",
                    subject=token.user,
                    detail={"token": token_id},
                )
        return self.token(token_id)

    def bearer(self, secret: str) -> Principal:
        """Return who a bearer token speaks for; raise `NotAuthenticated` if it is not valid."""
        now = self._clock()
        row = self._writer.db.execute(
            "SELECT t.id, t.user, t.role, t.last_used_at FROM api_tokens t "
            "JOIN users u ON u.name = t.user WHERE t.token_hash = ? AND t.revoked_at IS NULL "
            "AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled = 0",
            (secret_hash(secret), now),
        ).fetchone()
        if row is None:
            raise NotAuthenticated("The API token is not valid (unknown, expired or revoked).")
        if row[3] is None or now - row[3] > _LAST_USED_EVERY_S:
            with self._writer.transaction() as db:
                db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row[0]))
        return Principal(name=row[1], role=Role(row[2]), via="token")
