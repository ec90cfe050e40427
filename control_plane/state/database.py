"""Open the control plane's database and apply its migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from edgeward.store import Migration, apply_migrations, open_database

CONTROL_DB = "control.db"


def _fleet(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE sites (
            site TEXT PRIMARY KEY,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            active_version INTEGER,
            previous_version INTEGER,
            agent_version TEXT,
            schema_hash TEXT,
            health TEXT NOT NULL DEFAULT '{}',
            quality TEXT NOT NULL DEFAULT '{}',
            heartbeats INTEGER NOT NULL DEFAULT 0
        )"""
    )


def _rollouts(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE rollouts (
            id INTEGER PRIMARY KEY,
            version INTEGER NOT NULL,
            baseline_version INTEGER,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            plan TEXT NOT NULL,
            gate_report TEXT,
            created_by TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            current_wave INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE rollout_sites (
            rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
            site TEXT NOT NULL,
            wave INTEGER NOT NULL,
            status TEXT NOT NULL,
            baseline_mae REAL,
            live_mae REAL,
            detail TEXT NOT NULL DEFAULT '',
            offered_at REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (rollout_id, site)
        )"""
    )
    db.execute(
        """CREATE TABLE rollout_waves (
            rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
            wave INTEGER NOT NULL,
            status TEXT NOT NULL,
            started_at REAL,
            bake_until REAL,
            verdict TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (rollout_id, wave)
        )"""
    )


def _audit(db: sqlite_utils.Database) -> None:
    # Append-only and hash-chained: each entry's hash covers its content and the previous
    # entry's hash, so an edited or deleted entry breaks the chain from there on.
    db.execute(
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )"""
    )
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


def _processed(db: sqlite_utils.Database) -> None:
    # Ids of state-changing messages already handled, so a resent one changes nothing.
    db.execute("CREATE TABLE processed_messages (id TEXT PRIMARY KEY, site TEXT, at REAL NOT NULL)")


def _approvals(db: sqlite_utils.Database) -> None:
    # A held decision and its verdict; the first verdict is final. verdict_message_id is set
    # with the verdict and kept by every resend, so the agent's Ack names the verdict it saw.
    db.execute(
        """CREATE TABLE approvals (
            decision_id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            risk TEXT NOT NULL,
            decision TEXT NOT NULL,
            screening TEXT NOT NULL,
            requested_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
            actor TEXT,
            comment TEXT NOT NULL DEFAULT '',
            decided_at REAL,
            override INTEGER NOT NULL DEFAULT 0,
            verdict_message_id TEXT UNIQUE,
            verdict_attempts INTEGER NOT NULL DEFAULT 0,
            verdict_sent_at REAL,
            verdict_delivered_at REAL,
            verdict_detail TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX approvals_by_status ON approvals (status, requested_at)")
    db.execute(
        "CREATE INDEX approvals_undelivered ON approvals (site) "
        "WHERE verdict_message_id IS NOT NULL AND verdict_delivered_at IS NULL"
    )
    # What became of each decision, once per (decision, outcome): held, then executed, ...
    db.execute(
        """CREATE TABLE decision_reports (
            decision_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            site TEXT NOT NULL,
            risk TEXT NOT NULL,
            action TEXT NOT NULL,
            model_version INTEGER,
            at REAL NOT NULL,
            received_at REAL NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (decision_id, outcome)
        )"""
    )
    db.execute("CREATE INDEX decision_reports_by_time ON decision_reports (at)")


def _users(db: sqlite_utils.Database) -> None:
    # People and API tokens. Secrets are never stored: passwords as argon2id hashes, session
    # and API tokens (random, 256 bits) as their SHA-256, enough for a secret that long.
    db.execute(
        """CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
            password_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until REAL,
            last_login_at REAL
        )"""
    )
    db.execute(
        """CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user TEXT NOT NULL REFERENCES users(name),
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            user TEXT NOT NULL REFERENCES users(name),
            label TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
            created_at REAL NOT NULL,
            expires_at REAL,
            last_used_at REAL,
            revoked_at REAL
        )"""
    )


CONTROL_MIGRATIONS: tuple[Migration, ...] = (
    Migration(name="0001_fleet", apply=_fleet),
    Migration(name="0002_rollouts", apply=_rollouts),
    Migration(name="0003_audit", apply=_audit),
    Migration(name="0004_processed_messages", apply=_processed),
    Migration(name="0005_approvals", apply=_approvals),
    Migration(name="0006_users", apply=_users),
)


def open_control_db(state_dir: Path) -> sqlite_utils.Database:
    """Open (and migrate) the control plane's database in `state_dir`."""
    db = open_database(state_dir / CONTROL_DB)
    apply_migrations(db, CONTROL_MIGRATIONS)
    return db


class Writer:
    """Serialise writes to one connection shared by threads: one transaction at a time."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Hold the lock and an immediate transaction (nested calls join the outer one)."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self.db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self._depth -= 1
                if outermost:
                    self.db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self.db.execute("COMMIT")
