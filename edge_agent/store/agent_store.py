"""The agent's local store: one SQLite file per site holding readings and quarantine."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from edge_agent.store.ingest_batch import IngestBatch
from edge_agent.store.migrations import AGENT_MIGRATIONS
from edgeward.errors import StoreError
from edgeward.schema import MetricSchema
from edgeward.store import apply_migrations, open_database
from edgeward.store.database import Synchronous

STORE_FILE = "agent.db"


class AgentStore:
    """Readings, quarantine, counters and holds of one site, safe to share between threads.

    Writes are serialised by a lock; each `batch()` is one transaction.
    """

    def __init__(self, db: sqlite_utils.Database, *, raw_max_bytes: int = 4096) -> None:
        self.db = db
        self._conn: sqlite3.Connection = db.conn
        self._lock = threading.Lock()
        self._raw_max_bytes = raw_max_bytes

    @classmethod
    def open(
        cls, data_dir: Path, *, synchronous: Synchronous = "full", raw_max_bytes: int = 4096
    ) -> AgentStore:
        """Open the store in `data_dir`, creating it and applying migrations as needed."""
        db = open_database(data_dir / STORE_FILE, synchronous=synchronous)
        apply_migrations(db, AGENT_MIGRATIONS)
        return cls(db, raw_max_bytes=raw_max_bytes)

    @classmethod
    def open_read_only(cls, data_dir: Path) -> AgentStore:
        """Open an existing store for reading, while an agent may be writing to it."""
        path = data_dir / STORE_FILE
        if not path.exists():
            raise StoreError(f"no agent store in {data_dir} (expected {path})")
        return cls(open_database(path, read_only=True))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def register_schema(self, schema: MetricSchema) -> int:
        """Record `schema` (once per content hash) and return its id."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO schemas (hash, name, version, content, first_seen) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                (
                    schema.content_hash,
                    schema.header.name,
                    schema.header.version,
                    schema.to_json(),
                    time.time(),
                ),
            )
            row = self._conn.execute(
                "SELECT id FROM schemas WHERE hash = ?", (schema.content_hash,)
            ).fetchone()
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock and an immediate transaction; commit on success."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for reads only (works on a read-only store too)."""
        with self._lock:
            yield self._conn

    @contextmanager
    def batch(self, *, schema_id: int, received_at: float) -> Iterator[IngestBatch]:
        """Open one ingest transaction; everything added commits together on exit."""
        with self.transaction() as conn:
            batch = IngestBatch(
                conn,
                schema_id=schema_id,
                received_at=received_at,
                raw_max_bytes=self._raw_max_bytes,
            )
            yield batch
            batch.finish()

    def increment_counters(self, increments: dict[str, int]) -> None:
        """Add to named cumulative counters (adapter events such as scrape failures)."""
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO counters (name, value) VALUES (?, ?)
                   ON CONFLICT (name) DO UPDATE SET value = value + excluded.value""",
                list(increments.items()),
            )
