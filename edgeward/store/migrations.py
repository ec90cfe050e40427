"""Named, ordered schema migrations, each applied once inside its own transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils

from edgeward.errors import StoreError


@dataclass(kw_only=True, slots=True, frozen=True)
class Migration:
    """One schema change, identified by a name that never changes once released."""

    name: str
    apply: Callable[[sqlite_utils.Database], None]


def apply_migrations(db: sqlite_utils.Database, migrations: Sequence[Migration]) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations`, in order; return their names."""
    names = [m.name for m in migrations]
    if len(set(names)) != len(names):
        raise StoreError("two migrations share a name; each name must be unique")
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    applied: list[str] = []
    for migration in migrations:
        try:
            with db.conn:
                # Check inside the write lock: another process may be migrating the same file.
                db.execute("BEGIN IMMEDIATE")
                done = db.execute(
                    "SELECT 1 FROM _migrations WHERE name = ?", [migration.name]
                ).fetchone()
                if done:
                    continue
                migration.apply(db)
                db.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                    [migration.name, time.time()],
                )
        except sqlite3.Error as err:
            raise StoreError(f"migration {migration.name} failed: {err}") from err
        applied.append(migration.name)
    return applied
