"""The model registry indexed in SQLite (`<root>/registry.db`, WAL), safe across processes.

Every write runs inside `BEGIN IMMEDIATE`, so two registries on the same root (two processes,
or two instances in one) take turns: an inbox entry is registered once, versions never collide.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from control_plane.errors import RegistryError
from control_plane.registry.base import Clock, ModelRegistry
from control_plane.registry.migrations import REGISTRY_MIGRATIONS
from control_plane.registry.records import AliasMove, VersionRecord
from edgeward.bundles import JsonObject, RegistryLayout, format_utc
from edgeward.store import apply_migrations, open_database

REGISTRY_DB = "registry.db"

_SELECT_VERSIONS = (
    "SELECT version, name, created_at, registered_at, schema_hash, parent_version, "
    "weights_sha256, bundle_digest, submission FROM versions"
)
_INSERT_VERSION = (
    "INSERT INTO versions (version, name, created_at, registered_at, schema_hash, "
    "parent_version, weights_sha256, bundle_digest, submission) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_MOVES = (
    "SELECT id, alias, version, previous_version, actor, reason, report, moved_at FROM alias_moves"
)
_SELECT_CURRENT_MOVES = (
    "SELECT id, alias, version, previous_version, actor, reason, report, moved_at "
    "FROM alias_moves WHERE id IN (SELECT MAX(id) FROM alias_moves GROUP BY alias) "
    "ORDER BY alias"
)
_INSERT_MOVE = (
    "INSERT INTO alias_moves (alias, version, previous_version, actor, reason, report, "
    "moved_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class SqliteRegistry(ModelRegistry):
    """A registry whose index is a SQLite file shared by every process on the root."""

    def __init__(
        self, layout: RegistryLayout, db: sqlite_utils.Database, *, clock: Clock = time.time
    ) -> None:
        super().__init__(layout, clock=clock)
        self.db = db
        self._conn: sqlite3.Connection = db.conn
        self._lock = threading.RLock()

    @classmethod
    def open(cls, root: Path, *, clock: Clock = time.time) -> SqliteRegistry:
        """Open (creating if needed) the registry at `root` and repair its alias pointers."""
        layout = RegistryLayout(Path(root))
        layout.create()
        db = open_database(layout.root / REGISTRY_DB)
        apply_migrations(db, REGISTRY_MIGRATIONS)
        registry = cls(layout, db, clock=clock)
        registry.sync_alias_pointers()
        return registry

    @classmethod
    def open_read_only(cls, root: Path) -> SqliteRegistry:
        """Open an existing registry for reading, while another process may write to it."""
        path = Path(root) / REGISTRY_DB
        if not path.exists():
            raise RegistryError(f"there is no model registry at {root} (expected {path})")
        return cls(RegistryLayout(Path(root)), open_database(path, read_only=True))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise RegistryError(f"cannot lock the registry index: {err}") from err
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _max_version(self) -> int:
        row = self._one("SELECT COALESCE(MAX(version), 0) FROM versions")
        return int(row[0]) if row else 0

    def _find_digest(self, digest: str) -> int | None:
        row = self._one("SELECT version FROM versions WHERE bundle_digest = ?", digest)
        return None if row is None else int(row[0])

    def _insert_version(self, record: VersionRecord) -> None:
        with self._lock:
            self._conn.execute(
                _INSERT_VERSION,
                (
                    record.version,
                    record.name,
                    format_utc(record.created_at),
                    format_utc(record.registered_at),
                    record.schema_hash,
                    record.parent_version,
                    record.weights_sha256,
                    record.bundle_digest,
                    record.submission,
                ),
            )

    def _version_record(self, version: int) -> VersionRecord | None:
        row = self._one(_SELECT_VERSIONS + " WHERE version = ?", version)
        return None if row is None else _version_from_row(row)

    def _version_records(self) -> builtins.list[VersionRecord]:
        rows = self._all(_SELECT_VERSIONS + " ORDER BY version")
        return [_version_from_row(row) for row in rows]

    def _insert_alias_move(
        self,
        *,
        alias: str,
        version: int,
        previous_version: int | None,
        actor: str,
        reason: str,
        report: JsonObject | None,
        moved_at: datetime,
    ) -> AliasMove:
        with self._lock:
            cursor = self._conn.execute(
                _INSERT_MOVE,
                (
                    alias,
                    version,
                    previous_version,
                    actor,
                    reason,
                    None if report is None else json.dumps(report, sort_keys=True),
                    format_utc(moved_at),
                ),
            )
        return AliasMove(
            id=int(cursor.lastrowid or 0),
            alias=alias,
            version=version,
            previous_version=previous_version,
            actor=actor,
            reason=reason,
            report=report,
            moved_at=moved_at,
        )

    def _current_aliases(self) -> dict[str, AliasMove]:
        rows = self._all(_SELECT_CURRENT_MOVES)
        return {move.alias: move for move in map(_move_from_row, rows)}

    def _alias_moves(self, alias: str | None) -> builtins.list[AliasMove]:
        if alias is None:
            rows = self._all(_SELECT_MOVES + " ORDER BY id")
        else:
            rows = self._all(_SELECT_MOVES + " WHERE alias = ? ORDER BY id", alias)
        return [_move_from_row(row) for row in rows]

    def _one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, *params: Any) -> builtins.list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())


def _version_from_row(row: tuple[Any, ...]) -> VersionRecord:
    version, name, created, registered, schema_hash, parent, weights, digest, submission = row
    return VersionRecord(
        version=int(version),
        name=name,
        created_at=datetime.fromisoformat(created),
        registered_at=datetime.fromisoformat(registered),
        schema_hash=schema_hash,
        parent_version=None if parent is None else int(parent),
        weights_sha256=weights,
        bundle_digest=digest,
        submission=submission,
    )


def _move_from_row(row: tuple[Any, ...]) -> AliasMove:
    move_id, alias, version, previous, actor, reason, report, moved_at = row
    return AliasMove(
        id=int(move_id),
        alias=alias,
        version=int(version),
        previous_version=None if previous is None else int(previous),
        actor=actor,
        reason=reason,
        report=None if report is None else json.loads(report),
        moved_at=datetime.fromisoformat(moved_at),
    )
