"""One ingest transaction: records, quarantine entries and the counters that go with them.

Everything a batch writes commits together, and only then are the inputs acknowledged, so a
crash at any point leaves either nothing or everything of a batch in the store.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

from edgeward.records import MetricRecord, Rejection

_INSERT_READING = (
    "INSERT INTO readings (source, ts_ms, metrics, labels, schema_id, received_at, origin) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, ts_ms) DO NOTHING"
)
# The whole batch in one statement, unpacked by SQLite from one JSON array: a single call
# into SQLite releases the GIL once, where `executemany` releases and re-acquires it per row
# and, with the MQTT thread busy, waits for it every time (measured: 750 us a row against 30).
_INSERT_READINGS_JSON = (
    "INSERT INTO readings (source, ts_ms, metrics, labels, schema_id, received_at, origin) "
    "SELECT value->>0, value->>1, value->2, nullif(value->3, 'null'), ?, ?, value->>4 "
    "FROM json_each(?) WHERE true ON CONFLICT (source, ts_ms) DO NOTHING"
)
# Per-source spans from a JSON array whose elements start with [source, ts_ms, ...].
_UPSERT_SOURCES_JSON = """
    INSERT INTO sources (source, first_ts_ms, last_ts_ms, last_received_at)
    SELECT value->>0, min(value->>1), max(value->>1), ? FROM json_each(?) WHERE true
    GROUP BY value->>0
    ON CONFLICT (source) DO UPDATE SET
        first_ts_ms = min(first_ts_ms, excluded.first_ts_ms),
        last_ts_ms = max(last_ts_ms, excluded.last_ts_ms),
        last_received_at = excluded.last_received_at"""
_ADD_COUNTERS_JSON = """
    INSERT INTO counters (name, value) SELECT key, value FROM json_each(?) WHERE true
    ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"""


@dataclass(kw_only=True, slots=True, frozen=True)
class Conflict:
    """An accepted record that contradicts a stored one: same source and instant, other value."""

    index: int
    detail: str


@dataclass(kw_only=True, slots=True)
class BatchTotals:
    """What one batch changed, for counters and the caller's report."""

    records: int = 0
    merged: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchTotals) -> None:
        """Accumulate another batch's totals into this one."""
        self.records += other.records
        self.merged += other.merged
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        for reason, count in other.quarantined_by_reason.items():
            self.quarantined_by_reason[reason] = self.quarantined_by_reason.get(reason, 0) + count


class IngestBatch:
    """Write records and rejections inside an open transaction (see `AgentStore.batch`)."""

    def __init__(
        self, conn: sqlite3.Connection, *, schema_id: int, received_at: float, raw_max_bytes: int
    ) -> None:
        self._conn = conn
        self._schema_id = schema_id
        self._received_at = received_at
        self._raw_max_bytes = raw_max_bytes
        self.totals = BatchTotals()

    def add_records(self, records: Sequence[tuple[MetricRecord, str]]) -> list[Conflict]:
        """Store (record, origin) pairs idempotently; return those that conflict.

        The fast path inserts all rows at once; if any (source, instant) already exists, it
        rolls back to a savepoint and merges row by row: new metrics join the stored row,
        identical ones count as duplicates, and different values are returned as conflicts
        for the caller to quarantine (the stored value is never overwritten).
        """
        if not records:
            return []
        batch = json.dumps(
            [
                (record.source, record.ts_ms, record.metrics, record.labels or None, origin)
                for record, origin in records
            ],
            separators=(",", ":"),
        )
        before = self._conn.total_changes
        self._conn.execute("SAVEPOINT fast_path")
        self._conn.execute(_INSERT_READINGS_JSON, (self._schema_id, self._received_at, batch))
        if self._conn.total_changes - before == len(records):
            self._conn.execute("RELEASE fast_path")
            self.totals.records += len(records)
            self._conn.execute(_UPSERT_SOURCES_JSON, (self._received_at, batch))
            return []
        self._conn.execute("ROLLBACK TO fast_path")
        self._conn.execute("RELEASE fast_path")
        return self._add_one_by_one(records)

    def _add_one_by_one(self, records: Sequence[tuple[MetricRecord, str]]) -> list[Conflict]:
        conflicts: list[Conflict] = []
        touched: list[tuple[str, int]] = []
        for index, (record, origin) in enumerate(records):
            row = (
                record.source,
                record.ts_ms,
                json.dumps(record.metrics, separators=(",", ":")),
                json.dumps(record.labels, separators=(",", ":")) if record.labels else None,
                self._schema_id,
                self._received_at,
                origin,
            )
            if self._conn.execute(_INSERT_READING, row).rowcount == 1:
                self.totals.records += 1
                touched.append((record.source, record.ts_ms))
                continue
            stored_id, stored_text = self._conn.execute(
                "SELECT id, metrics FROM readings WHERE source = ? AND ts_ms = ?",
                (record.source, record.ts_ms),
            ).fetchone()
            stored: dict[str, float] = json.loads(stored_text)
            clashes = {
                name: (stored[name], value)
                for name, value in record.metrics.items()
                if name in stored and stored[name] != value
            }
            if clashes:
                detail = "; ".join(
                    f"{name}: stored {old!r}, received {new!r}"
                    for name, (old, new) in clashes.items()
                )
                conflicts.append(Conflict(index=index, detail=detail))
                continue
            new_metrics = {k: v for k, v in record.metrics.items() if k not in stored}
            if not new_metrics:
                self.totals.duplicates += 1
                continue
            stored.update(new_metrics)
            self._conn.execute(
                "UPDATE readings SET metrics = ? WHERE id = ?",
                (json.dumps(stored, separators=(",", ":")), stored_id),
            )
            self.totals.merged += 1
            touched.append((record.source, record.ts_ms))
        if touched:
            self._conn.execute(_UPSERT_SOURCES_JSON, (self._received_at, json.dumps(touched)))
        return conflicts

    def add_rejections(self, rejections: Sequence[tuple[Rejection, bool]]) -> None:
        """Quarantine (rejection, redelivered) pairs; a redelivered input is not counted twice.

        Entries are keyed by a fingerprint of origin, reason and the full raw bytes: the same
        bad input seen again raises `occurrences` rather than adding a row.
        """
        for rejection, redelivered in rejections:
            fingerprint = hashlib.sha256(
                b"\0".join((rejection.origin.encode(), rejection.reason.encode(), rejection.raw))
            ).hexdigest()
            if (
                redelivered
                and self._conn.execute(
                    "SELECT 1 FROM quarantine WHERE fingerprint = ?", (fingerprint,)
                ).fetchone()
            ):
                continue
            self._conn.execute(
                """INSERT INTO quarantine (received_at, last_seen, origin, source, reason, detail,
                       raw, raw_size, fingerprint, schema_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (fingerprint) DO UPDATE SET
                       occurrences = occurrences + 1, last_seen = excluded.last_seen""",
                (
                    self._received_at,
                    self._received_at,
                    rejection.origin,
                    rejection.source,
                    rejection.reason.value,
                    rejection.detail[:1000],
                    rejection.raw[: self._raw_max_bytes],
                    len(rejection.raw),
                    fingerprint,
                    self._schema_id,
                ),
            )
            self.totals.quarantined += 1
            reason = rejection.reason.value
            self.totals.quarantined_by_reason[reason] = (
                self.totals.quarantined_by_reason.get(reason, 0) + 1
            )

    def finish(self) -> None:
        """Write the counters and the batch log row (still inside the transaction)."""
        totals = self.totals
        increments = {
            "records": totals.records,
            "merged": totals.merged,
            "duplicates": totals.duplicates,
            "quarantined": totals.quarantined,
            **{f"quarantined.{reason}": n for reason, n in totals.quarantined_by_reason.items()},
        }
        self._conn.execute(
            _ADD_COUNTERS_JSON, (json.dumps({name: n for name, n in increments.items() if n}),)
        )
        self._conn.execute(
            "INSERT INTO ingest_batches (committed_at, records, quarantined, duplicates) "
            "VALUES (?, ?, ?, ?)",
            (
                self._received_at,
                totals.records + totals.merged,
                totals.quarantined,
                totals.duplicates,
            ),
        )
