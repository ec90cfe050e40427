"""The fleet as the control plane sees it: who reported, when, with which model and health."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from control_plane.state.database import Writer


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteRecord:
    """One site's last report."""

    site: str
    first_seen: float
    last_seen: float
    active_version: int | None
    previous_version: int | None
    agent_version: str | None
    heartbeats: int
    health: dict[str, float] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__slots__}


_SELECT = (
    "SELECT site, first_seen, last_seen, active_version, previous_version, agent_version, "
    "heartbeats, health, quality FROM sites"
)


class FleetStore:
    """Sites' state, updated from hellos and heartbeats."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._pending_lock = threading.Lock()
        self._pending: dict[str, tuple[float, int | None, str, str, float, int]] = {}

    def hello(
        self,
        *,
        site: str,
        agent_version: str,
        active_version: int | None,
        previous_version: int | None,
        schema_hash: str,
        now: float | None = None,
    ) -> None:
        """Record that a site (re)connected."""
        at = time.time() if now is None else now
        with self._writer.transaction() as db:
            db.execute(
                """INSERT INTO sites (site, first_seen, last_seen, active_version,
                       previous_version, agent_version, schema_hash)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (site) DO UPDATE SET last_seen = excluded.last_seen,
                       active_version = excluded.active_version,
                       previous_version = excluded.previous_version,
                       agent_version = excluded.agent_version,
                       schema_hash = excluded.schema_hash""",
                (site, at, at, active_version, previous_version, agent_version, schema_hash),
            )

    def heartbeat(
        self,
        *,
        site: str,
        active_version: int | None,
        health: dict[str, float],
        quality: dict[str, float],
        now: float | None = None,
    ) -> None:
        """Take a heartbeat's health and live quality; written by the next `flush()`.

        Heartbeats are the latest state of a site, not events: buffering them and writing a
        second's worth in one transaction spares the database a durable commit per
        heartbeat (hundreds a second on a large fleet).
        """
        at = time.time() if now is None else now
        with self._pending_lock:
            count = self._pending[site][5] + 1 if site in self._pending else 1
            self._pending[site] = (
                at,
                active_version,
                json.dumps(health),
                json.dumps(quality),
                at,
                count,
            )

    def flush(self) -> int:
        """Write buffered heartbeats in one transaction; return how many sites changed."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        with self._writer.transaction() as db:
            db.conn.executemany(
                """INSERT INTO sites (site, first_seen, last_seen, active_version, health,
                       quality, heartbeats)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (site) DO UPDATE SET last_seen = excluded.last_seen,
                       active_version = excluded.active_version, health = excluded.health,
                       quality = excluded.quality,
                       heartbeats = heartbeats + excluded.heartbeats""",
                [
                    (site, first, last, version, health, quality, count)
                    for site, (first, version, health, quality, last, count) in pending.items()
                ],
            )
        return len(pending)

    def get(self, site: str) -> SiteRecord | None:
        """Return one site (buffered heartbeats written first), or None if it never reported."""
        self.flush()
        row = self._writer.db.execute(_SELECT + " WHERE site = ?", (site,)).fetchone()
        return _record(row) if row else None

    def list(self) -> list[SiteRecord]:
        """Return every site that ever reported, by name (buffered heartbeats written first)."""
        self.flush()
        return [_record(row) for row in self._writer.db.execute(_SELECT + " ORDER BY site")]

    def first_time(self, message_id: str, site: str, now: float | None = None) -> bool:
        """Record a state-changing message id; False if it was handled before (a resend)."""
        with self._writer.transaction() as db:
            cursor = db.execute(
                "INSERT INTO processed_messages (id, site, at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (message_id, site, time.time() if now is None else now),
            )
            return bool(cursor.rowcount == 1)


def _record(row: Any) -> SiteRecord:
    return SiteRecord(
        site=row[0],
        first_seen=row[1],
        last_seen=row[2],
        active_version=row[3],
        previous_version=row[4],
        agent_version=row[5],
        heartbeats=row[6],
        health=json.loads(row[7]),
        quality=json.loads(row[8]),
    )
