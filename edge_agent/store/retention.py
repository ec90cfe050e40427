"""Retention as a policy: delete what is older than its table's limit, except held rows.

Deletion runs in small transactions so that ingestion, which shares the write lock, is never
held up for long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge_agent.store.agent_store import AgentStore

CHUNK_ROWS = 5000
BATCH_LOG_DAYS = 1.0
DAY_S = 86400.0

# A row is held when an unreleased hold on its table covers its instant (and its source, when
# the hold names one). Quarantine entries are matched by when they arrived.
_NOT_HELD_READING = """NOT EXISTS (
    SELECT 1 FROM holds h WHERE h.table_name = 'readings' AND h.released_at IS NULL
      AND (h.source IS NULL OR h.source = readings.source)
      AND readings.ts_ms BETWEEN h.ts_from_ms AND h.ts_to_ms)"""
_NOT_HELD_QUARANTINE = """NOT EXISTS (
    SELECT 1 FROM holds h WHERE h.table_name = 'quarantine' AND h.released_at IS NULL
      AND (h.source IS NULL OR h.source = quarantine.source)
      AND CAST(quarantine.received_at * 1000 AS INTEGER) BETWEEN h.ts_from_ms AND h.ts_to_ms)"""
# Built from the constants above only; no caller-supplied text reaches these statements.
_EXPIRED_READINGS = (
    "SELECT id FROM readings WHERE source = ? AND ts_ms < ? AND "  # noqa: S608
    f"{_NOT_HELD_READING} LIMIT {CHUNK_ROWS}"
)
_EXPIRED_QUARANTINE = (
    "SELECT id FROM quarantine WHERE received_at < ? AND "  # noqa: S608
    f"{_NOT_HELD_QUARANTINE} LIMIT {CHUNK_ROWS}"
)


@dataclass(kw_only=True, slots=True, frozen=True)
class RetentionPolicy:
    """How many days each table keeps its rows."""

    readings_days: float
    quarantine_days: float


@dataclass(kw_only=True, slots=True, frozen=True)
class RetentionResult:
    """Rows deleted by one retention pass."""

    readings: int
    quarantine: int


def apply_retention(store: AgentStore, policy: RetentionPolicy, *, now: float) -> RetentionResult:
    """Delete rows past their table's limit that no hold covers; return how many went."""
    readings_cutoff_ms = int((now - policy.readings_days * DAY_S) * 1000)
    sources = [row[0] for row in store.db.conn.execute("SELECT source FROM sources")]
    readings = 0
    for source in sources:
        readings += _delete_in_chunks(
            store,
            _EXPIRED_READINGS,
            (source, readings_cutoff_ms),
            table="readings",
        )
    quarantine = _delete_in_chunks(
        store,
        _EXPIRED_QUARANTINE,
        (now - policy.quarantine_days * DAY_S,),
        table="quarantine",
    )
    with store.transaction() as conn:
        conn.execute(
            "DELETE FROM ingest_batches WHERE committed_at < ?", (now - BATCH_LOG_DAYS * DAY_S,)
        )
    return RetentionResult(readings=readings, quarantine=quarantine)


def _delete_in_chunks(
    store: AgentStore, select_ids: str, params: tuple[object, ...], *, table: str
) -> int:
    deleted = 0
    while True:
        with store.transaction() as conn:
            count = conn.execute(
                f"DELETE FROM {table} WHERE id IN ({select_ids})",  # noqa: S608 - table is ours
                params,
            ).rowcount
        deleted += count
        if count < CHUNK_ROWS:
            return deleted


def add_hold(
    store: AgentStore,
    *,
    table: str,
    ts_from_ms: int,
    ts_to_ms: int,
    reason: str,
    source: str | None = None,
) -> int:
    """Keep rows of `table` in [ts_from_ms, ts_to_ms] (of `source`, or all) from retention."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO holds (table_name, source, ts_from_ms, ts_to_ms, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (table, source, ts_from_ms, ts_to_ms, reason, time.time()),
        )
    return int(cursor.lastrowid or 0)


def release_hold(store: AgentStore, hold_id: int) -> None:
    """Let retention reach the rows a hold kept."""
    with store.transaction() as conn:
        conn.execute("UPDATE holds SET released_at = ? WHERE id = ?", (time.time(), hold_id))
