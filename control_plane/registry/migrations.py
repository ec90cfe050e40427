"""The SQLite registry's tables, as named migrations.

Both tables are append-only (triggers refuse UPDATE and DELETE): a version never changes, and
an alias's current target is its latest move.
"""

from __future__ import annotations

import sqlite_utils

from edgeward.store import Migration


def _create_registry_tables(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE versions (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            schema_hash TEXT NOT NULL,
            parent_version INTEGER,
            weights_sha256 TEXT NOT NULL,
            bundle_digest TEXT NOT NULL UNIQUE,
            submission TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE alias_moves (
            id INTEGER PRIMARY KEY,
            alias TEXT NOT NULL,
            version INTEGER NOT NULL REFERENCES versions(version),
            previous_version INTEGER REFERENCES versions(version),
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            report TEXT,
            moved_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX alias_moves_alias ON alias_moves (alias, id)")
    for table in ("versions", "alias_moves"):
        for action in ("UPDATE", "DELETE"):
            db.execute(
                f"""CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
            )


REGISTRY_MIGRATIONS: tuple[Migration, ...] = (
    Migration(name="0001_registry_tables", apply=_create_registry_tables),
)
