"""Accounts in the control plane's database: create, list, disable, unlock, change password.

Every change is recorded in the audit log with who made it. The first admin is created on
the host (`edgeward users add NAME --role admin`) or by `edgeward demo`, which prints it once.
"""

from __future__ import annotations

import time
from typing import Any

from argon2 import PasswordHasher

from control_plane.access import Role
from control_plane.state import AuditLog, Writer
from control_plane.users.errors import UserError
from control_plane.users.passwords import check_strength, default_hasher
from control_plane.users.records import User

_COLUMNS = (
    "name, role, created_at, created_by, disabled, failed_logins, locked_until, last_login_at"
)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")


def user_from_row(row: Any) -> User:
    """Return the account a row of `_COLUMNS` describes."""
    return User(
        name=row[0],
        role=Role(row[1]),
        created_at=row[2],
        created_by=row[3],
        disabled=bool(row[4]),
        failed_logins=row[5],
        locked_until=row[6],
        last_login_at=row[7],
    )


def check_name(name: str) -> None:
    """Raise `UserError` unless `name` is a valid account name."""
    if not 1 <= len(name) <= 64 or not set(name) <= _NAME_CHARS:
        raise UserError(
            "An account name has 1 to 64 characters: lower-case letters, digits, '.', '_', "
            "'-' or '@'."
        )


class AccountStore:
    """The `users` table, with its changes audited."""

    def __init__(
        self, writer: Writer, audit: AuditLog, hasher: PasswordHasher | None = None
    ) -> None:
        self._writer = writer
        self._audit = audit
        self.hasher = hasher or default_hasher()

    def add(self, name: str, role: Role, password: str, *, actor: str) -> User:
        """Create an account; raise `UserError` if the name is taken or the password weak."""
        check_name(name)
        check_strength(password)
        digest = self.hasher.hash(password)
        now = time.time()
        with self._writer.transaction() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"An account named {name} already exists.")
            db.execute(
                "INSERT INTO users (name, role, password_hash, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, role.value, digest, now, actor),
            )
            self._audit.record(
                actor=actor, action="user.add", subject=name, detail={"role": role.value}
            )
        return self.get(name)

    def find(self, name: str) -> User | None:
        """Return the account named `name`, or None."""
        row = self._writer.db.execute(
            f"SELECT {_COLUMNS} FROM users WHERE name = ?",  # noqa: S608 (fixed columns)
            (name,),
        ).fetchone()
        return user_from_row(row) if row else None

    def get(self, name: str) -> User:
        """Return the account named `name`; raise `UserError` if there is none."""
        found = self.find(name)
        if found is None:
            raise UserError(f"There is no account named {name}.")
        return found

    def list(self) -> list[User]:
        """Return every account, by name."""
        rows = self._writer.db.execute(
            f"SELECT {_COLUMNS} FROM users ORDER BY name"  # noqa: S608 (fixed columns)
        )
        return [user_from_row(row) for row in rows]

    def count_admins(self) -> int:
        """Return how many enabled admin accounts exist."""
        row = self._writer.db.execute(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0"
        ).fetchone()
        return int(row[0])

    def set_disabled(self, name: str, disabled: bool, *, actor: str) -> User:
        """Disable (no login, sessions and tokens refused) or re-enable an account."""
        user = self.get(name)
        if disabled and user.role is Role.ADMIN and not user.disabled and self.count_admins() <= 1:
            raise UserError("The last enabled admin cannot be disabled.")
        with self._writer.transaction() as db:
            db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
            if disabled:
                db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            action = "user.disable" if disabled else "user.enable"
            self._audit.record(actor=actor, action=action, subject=name)
        return self.get(name)

    def unlock(self, name: str, *, actor: str) -> User:
        """Clear an account's failed logins and lock."""
        self.get(name)
        with self._writer.transaction() as db:
            db.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?", (name,)
            )
            self._audit.record(actor=actor, action="user.unlock", subject=name)
        return self.get(name)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """Replace an account's password; its sessions end."""
        self.get(name)
        check_strength(password)
        digest = self.hasher.hash(password)
        with self._writer.transaction() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (digest, name))
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            self._audit.record(actor=actor, action="user.password", subject=name)
