"""The agent store's tables, as named migrations.

Layout chosen for the ingest rate: one `readings` row per (source, instant) with the metrics
as a JSON object, so a message costs one row and one entry in one index, not one per metric.
"""

from __future__ import annotations

import sqlite_utils

from edgeward.store import Migration


def _create_ingest_tables(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE schemas (
            id INTEGER PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            content TEXT NOT NULL,
            first_seen REAL NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE readings (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            metrics TEXT NOT NULL,
            labels TEXT,
            schema_id INTEGER NOT NULL REFERENCES schemas(id),
            received_at REAL NOT NULL,
            origin TEXT NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX readings_source_ts ON readings (source, ts_ms)")
    db.execute(
        """CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY,
            received_at REAL NOT NULL,
            last_seen REAL NOT NULL,
            occurrences INTEGER NOT NULL DEFAULT 1,
            origin TEXT NOT NULL,
            source TEXT,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL,
            raw BLOB NOT NULL,
            raw_size INTEGER NOT NULL,
            fingerprint TEXT NOT NULL UNIQUE,
            schema_id INTEGER REFERENCES schemas(id)
        )"""
    )
    db.execute("CREATE INDEX quarantine_received_at ON quarantine (received_at)")
    db.execute(
        """CREATE TABLE sources (
            source TEXT PRIMARY KEY,
            first_ts_ms INTEGER NOT NULL,
            last_ts_ms INTEGER NOT NULL,
            last_received_at REAL NOT NULL
        )"""
    )
    # Cumulative totals since the store was created; retention never lowers them.
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    # One row per committed batch: what the ingest rate is computed from.
    db.execute(
        """CREATE TABLE ingest_batches (
            committed_at REAL NOT NULL,
            records INTEGER NOT NULL,
            quarantined INTEGER NOT NULL,
            duplicates INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX ingest_batches_committed_at ON ingest_batches (committed_at)")


def _create_holds(db: sqlite_utils.Database) -> None:
    # A hold keeps a time range of a table (optionally one source) out of retention's reach,
    # for as long as something (a model's lineage) refers to it.
    db.execute(
        """CREATE TABLE holds (
            id INTEGER PRIMARY KEY,
            table_name TEXT NOT NULL CHECK (table_name IN ('readings', 'quarantine')),
            source TEXT,
            ts_from_ms INTEGER NOT NULL,
            ts_to_ms INTEGER NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL,
            released_at REAL
        )"""
    )


def _create_anomaly_labels(db: sqlite_utils.Database) -> None:
    # Ground truth where a site has it (an operator's annotations, a simulator's labels file):
    # lets the ClientApp report anomaly AUROC/F1 next to forecast error.
    db.execute(
        """CREATE TABLE anomaly_labels (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            UNIQUE (source, start_ms, end_ms, kind)
        )"""
    )


def _create_outbox(db: sqlite_utils.Database) -> None:
    # Messages for the control plane, kept until it acknowledges them (store and forward).
    # `id` is the message id, so putting the same message twice stores it once; `header` and
    # `payload` are its encoded frames.
    db.execute(
        """CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            header BLOB NOT NULL,
            payload BLOB,
            created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at REAL
        )"""
    )
    db.execute("CREATE INDEX outbox_created_at ON outbox (created_at)")


def _create_decisions(db: sqlite_utils.Database) -> None:
    # Every decision the active model proposed, its screening and what became of it. `status`
    # moves forward only, by conditional updates, so a decision executes at most once even
    # if an approval arrives twice or races the expiry.
    db.execute(
        """CREATE TABLE decisions (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            model_version INTEGER,
            level TEXT NOT NULL,
            status TEXT NOT NULL,
            decision TEXT NOT NULL,
            screening TEXT NOT NULL,
            expires_at REAL,
            decided_by TEXT,
            executed_at REAL,
            updated_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE INDEX decisions_status ON decisions (status, expires_at)")
    db.execute("CREATE INDEX decisions_recent ON decisions (created_at)")


def _add_decision_asked_at(db: sqlite_utils.Database) -> None:
    # When the approval request for a held or blocked decision went to the outbox: requests
    # are sent after the decision is recorded (with a rationale, off the decision path), and
    # a restart in between must still send them.
    db.execute("ALTER TABLE decisions ADD COLUMN asked_at REAL")


def _add_decision_reported_status(db: sqlite_utils.Database) -> None:
    # The last outcome of each decision that went into the outbox. A report whose outbox write
    # failed (a full disk) is found by `reported_status IS NOT status` and sent again later;
    # the partial index keeps that periodic look-up cheap however long the journal grows.
    # Decisions already recorded count as reported: whether they were is unknowable here, and
    # resending a site's whole history on upgrade would flood the control plane.
    db.execute("ALTER TABLE decisions ADD COLUMN reported_status TEXT")
    db.execute("UPDATE decisions SET reported_status = status")
    db.execute(
        "CREATE INDEX decisions_unreported ON decisions (updated_at) "
        "WHERE reported_status IS NOT status"
    )


AGENT_MIGRATIONS: tuple[Migration, ...] = (
    Migration(name="0001_ingest_tables", apply=_create_ingest_tables),
    Migration(name="0002_holds", apply=_create_holds),
    Migration(name="0003_anomaly_labels", apply=_create_anomaly_labels),
    Migration(name="0004_outbox", apply=_create_outbox),
    Migration(name="0005_decisions", apply=_create_decisions),
    Migration(name="0006_decision_asked_at", apply=_add_decision_asked_at),
    Migration(name="0007_decision_reported_status", apply=_add_decision_reported_status),
)
