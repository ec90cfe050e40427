"""Password hashing (argon2id, memory-hard) and the rules a new password must meet."""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from control_plane.users.errors import WeakPassword

MIN_LENGTH: Final = 12


def default_hasher() -> PasswordHasher:
    """Return argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB)."""
    return PasswordHasher()


def check_strength(password: str) -> None:
    """Raise `WeakPassword` unless `password` is long enough to resist guessing."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_LENGTH} characters.")
    if len(set(password)) < 4:
        raise WeakPassword("A password needs more than three distinct characters.")


def matches(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    """Return whether `password` matches `stored_hash` (a malformed hash never matches)."""
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
