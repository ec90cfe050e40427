"""What `edgeward agent status` reports, read from the store without disturbing a writer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge_agent.store.agent_store import AgentStore

RATE_WINDOW_S = 60.0


@dataclass(kw_only=True, slots=True, frozen=True)
class SourceStatus:
    """One source's newest reading and when it arrived."""

    source: str
    first_ts: str
    last_ts: str
    last_received_at: str


@dataclass(kw_only=True, slots=True, frozen=True)
class IngestStatus:
    """Counts since the store was created, plus the current contents and rate."""

    records_stored: int
    records_ingested: int
    records_merged: int
    duplicates: int
    quarantined: int
    quarantined_by_reason: dict[str, int]
    quarantine_entries: int
    ingest_rate_per_s: float
    quarantine_rate_per_s: float
    schema: dict[str, Any] | None
    sources: list[SourceStatus] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


def _iso_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _iso_s(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def read_status(store: AgentStore, *, now: float) -> IngestStatus:
    """Summarise the store as of `now` (seconds since the epoch)."""
    conn = store.db.conn
    counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    by_reason = {
        name.removeprefix("quarantined."): value
        for name, value in counters.items()
        if name.startswith("quarantined.")
    }
    recent = conn.execute(
        "SELECT coalesce(sum(records), 0), coalesce(sum(quarantined), 0) "
        "FROM ingest_batches WHERE committed_at >= ?",
        (now - RATE_WINDOW_S,),
    ).fetchone()
    schema_row = conn.execute(
        "SELECT name, version, hash FROM schemas ORDER BY id DESC LIMIT 1"
    ).fetchone()
    sources = [
        SourceStatus(
            source=row[0],
            first_ts=_iso_ms(row[1]),
            last_ts=_iso_ms(row[2]),
            last_received_at=_iso_s(row[3]),
        )
        for row in conn.execute(
            "SELECT source, first_ts_ms, last_ts_ms, last_received_at FROM sources ORDER BY source"
        )
    ]
    known = {"records", "merged", "duplicates", "quarantined"}
    return IngestStatus(
        records_stored=conn.execute("SELECT count(*) FROM readings").fetchone()[0],
        records_ingested=counters.get("records", 0),
        records_merged=counters.get("merged", 0),
        duplicates=counters.get("duplicates", 0),
        quarantined=counters.get("quarantined", 0),
        quarantined_by_reason=dict(sorted(by_reason.items())),
        quarantine_entries=conn.execute("SELECT count(*) FROM quarantine").fetchone()[0],
        ingest_rate_per_s=round(recent[0] / RATE_WINDOW_S, 2),
        quarantine_rate_per_s=round(recent[1] / RATE_WINDOW_S, 2),
        schema=(
            {"name": schema_row[0], "version": schema_row[1], "hash": schema_row[2]}
            if schema_row
            else None
        ),
        sources=sources,
        counters={
            name: value
            for name, value in sorted(counters.items())
            if name not in known and not name.startswith("quarantined.")
        },
    )


def health_snapshot(store: AgentStore, *, now: float) -> dict[str, float]:
    """Return the cheap figures a heartbeat carries.

    Recent ingest and quarantine rates, and `quarantined.<reason>`: the records quarantined
    for each reason since the store began (the dashboard's data page adds them up).
    """
    conn = store.db.conn
    records, quarantined = conn.execute(
        "SELECT coalesce(sum(records), 0), coalesce(sum(quarantined), 0) "
        "FROM ingest_batches WHERE committed_at >= ?",
        (now - RATE_WINDOW_S,),
    ).fetchone()
    total = records + quarantined
    by_reason = conn.execute(
        "SELECT name, value FROM counters WHERE name LIKE 'quarantined.%'"
    ).fetchall()
    return {
        "ingest_rate": round(records / RATE_WINDOW_S, 3),
        "quarantine_rate": round(quarantined / total, 5) if total else 0.0,
        **{name: float(value) for name, value in by_reason},
    }
