"""The store and the writer: idempotent, merged, conflicting, acknowledged only when committed."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.ingest.json_payload import PayloadLimits, decode_json_payload
from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.store import (
    AgentStore,
    RetentionPolicy,
    add_hold,
    apply_retention,
    health_snapshot,
    read_status,
    release_hold,
)
from edge_agent.store.migrations import AGENT_MIGRATIONS
from edgeward.store import apply_migrations
from tests.conftest import NOW
from tests.fakes.clock import FakeClock

DAY = 86400.0


def message(payload: Any, *, acks: list[str] | None = None, dup: bool = False) -> Inbound:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    label = f"msg{len(acks) if acks is not None else 0}"
    return Inbound(
        origin="mqtt:t",
        raw=raw,
        decode=lambda: decode_json_payload(raw, origin="mqtt:t", limits=PayloadLimits()),
        on_commit=(lambda: acks.append(label)) if acks is not None else None,
        redelivered=dup,
    )


def reading(ts: float, source: str = "cell-1", **metrics: float) -> dict[str, Any]:
    return {"ts": ts, "source": source, "metrics": metrics or {"cpu_pct": 10.0}}


def rows(store: AgentStore) -> list[tuple[str, int, dict[str, float]]]:
    return [
        (source, ts, json.loads(metrics))
        for source, ts, metrics in store.db.execute(
            "SELECT source, ts_ms, metrics FROM readings ORDER BY source, ts_ms"
        ).fetchall()
    ]


def test_migrations_are_applied_once(tmp_path: Path) -> None:
    first = AgentStore.open(tmp_path)
    first.close()
    second = AgentStore.open(tmp_path)
    assert apply_migrations(second.db, AGENT_MIGRATIONS) == []
    names = [r[0] for r in second.db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [m.name for m in AGENT_MIGRATIONS]
    assert second.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second.close()


def test_redelivery_is_idempotent(writer: IngestWriter, store: AgentStore) -> None:
    batch = [message(reading(NOW - i)) for i in range(5)]
    first = writer.process(batch)
    again = writer.process([message(reading(NOW - i), dup=True) for i in range(5)])
    assert (first.records, first.duplicates) == (5, 0)
    assert (again.records, again.duplicates) == (0, 5)
    assert len(rows(store)) == 5
    assert read_status(store, now=NOW).duplicates == 5


def test_duplicates_inside_one_batch_are_caught(writer: IngestWriter, store: AgentStore) -> None:
    totals = writer.process([message(reading(NOW)), message(reading(NOW)), message(reading(NOW))])
    assert (totals.records, totals.duplicates) == (1, 2)
    assert len(rows(store)) == 1


def test_new_metrics_at_the_same_instant_merge(writer: IngestWriter, store: AgentStore) -> None:
    writer.process([message(reading(NOW, cpu_pct=10.0))])
    totals = writer.process([message(reading(NOW, latency_ms=4.0, cpu_pct=10.0))])
    assert totals.merged == 1
    assert rows(store) == [("cell-1", round(NOW * 1000), {"cpu_pct": 10.0, "latency_ms": 4.0})]


def test_a_contradicting_duplicate_is_quarantined_not_overwritten(
    writer: IngestWriter, store: AgentStore
) -> None:
    writer.process([message(reading(NOW, cpu_pct=10.0))])
    totals = writer.process([message(reading(NOW, cpu_pct=99.0))])
    assert totals.quarantined_by_reason == {"conflicting_duplicate": 1}
    assert rows(store)[0][2] == {"cpu_pct": 10.0}
    detail, raw = store.db.execute("SELECT detail, raw FROM quarantine").fetchone()
    assert "stored 10.0, received 99.0" in detail
    assert json.loads(raw)["metrics"] == {"cpu_pct": 99.0}


def test_repeated_bad_input_counts_occurrences_but_redelivery_does_not(
    writer: IngestWriter, store: AgentStore
) -> None:
    writer.process([message(b"garbage{")])
    writer.process([message(b"garbage{")])
    writer.process([message(b"garbage{", dup=True)])
    (occurrences,) = store.db.execute("SELECT occurrences FROM quarantine").fetchone()
    assert occurrences == 2
    assert read_status(store, now=NOW).quarantined_by_reason == {"invalid_json": 2}


def test_the_heartbeat_carries_quarantine_counts_by_reason(
    writer: IngestWriter, store: AgentStore
) -> None:
    writer.process([message(b"garbage{"), message(reading(NOW))])
    writer.process([message(reading(NOW, cpu_pct=10.0)), message(reading(NOW, cpu_pct=99.0))])

    health = health_snapshot(store, now=NOW)

    assert health["quarantined.invalid_json"] == 1.0
    assert health["quarantined.conflicting_duplicate"] == 1.0
    assert 0 < health["quarantine_rate"] < 1


def test_quarantined_raw_is_truncated_but_its_size_kept(
    tmp_path: Path, writer: IngestWriter
) -> None:
    small = AgentStore.open(tmp_path / "small", raw_max_bytes=100)
    schema_id = small.register_schema(writer._validator.schema)
    small_writer = IngestWriter(small, writer._validator, schema_id=schema_id)
    small_writer.process([message(b"\x00" * 5000)])
    raw, size = small.db.execute("SELECT raw, raw_size FROM quarantine").fetchone()
    assert (len(raw), size) == (100, 5000)
    small.close()


def test_acknowledgements_follow_the_commit(writer: IngestWriter, store: AgentStore) -> None:
    acks: list[str] = []
    seen_at_ack: list[int] = []

    def ack() -> None:
        # Read through a second connection: what the ack promises must already be durable.
        other = sqlite3.connect(store.db.execute("PRAGMA database_list").fetchone()[2])
        seen_at_ack.append(other.execute("SELECT count(*) FROM readings").fetchone()[0])
        other.close()
        acks.append("ack")

    item = message(reading(NOW))
    item.on_commit = ack
    writer.process([item])
    assert acks == ["ack"]
    assert seen_at_ack == [1]


def test_a_failed_commit_acknowledges_nothing_and_is_retried(
    store: AgentStore, writer: IngestWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    acks: list[str] = []
    real_batch = store.batch
    failures = iter([sqlite3.OperationalError("disk I/O error")])

    def flaky_batch(**kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_batch(**kwargs)

    monkeypatch.setattr(store, "batch", flaky_batch)
    writer.start()
    writer.submit(message(reading(NOW), acks=acks))
    deadline = time.monotonic() + 10
    while not acks and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.stop()
    assert next(failures, None) is None, "the first attempt failed"
    assert acks == ["msg0"]
    assert len(rows(store)) == 1


def test_the_writer_thread_drains_everything_before_stopping(
    writer: IngestWriter, store: AgentStore
) -> None:
    acks: list[str] = []
    writer.start()
    for i in range(2000):
        writer.submit(message(reading(NOW - i), acks=acks))
    writer.stop()
    assert len(acks) == 2000
    assert read_status(store, now=NOW).records_stored == 2000


def test_a_decoder_bug_quarantines_the_input(writer: IngestWriter, store: AgentStore) -> None:
    def broken() -> list[Any]:
        raise RuntimeError("bug")

    writer.process([Inbound(origin="pm:x.xml", raw=b"<xml/>", decode=broken)])
    assert store.db.execute("SELECT reason, raw FROM quarantine").fetchone() == (
        "internal_error",
        b"<xml/>",
    )


def test_status_reports_rates_sources_and_schema(
    writer: IngestWriter, store: AgentStore, clock: FakeClock
) -> None:
    writer.process([message(reading(NOW - i, source=f"c{i % 3}")) for i in range(30)])
    writer.process([message(b"{")])
    status = read_status(store, now=clock())
    assert status.records_stored == status.records_ingested == 30
    assert status.quarantined_by_reason == {"invalid_json": 1}
    assert status.ingest_rate_per_s == 0.5
    assert [s.source for s in status.sources] == ["c0", "c1", "c2"]
    assert status.sources[0].last_ts == "2026-12-03T12:13:20.000+00:00"
    assert status.schema is not None
    assert status.schema["name"] == "ran-kpi"
    clock.advance(120)
    assert read_status(store, now=clock()).ingest_rate_per_s == 0.0


def test_retention_deletes_old_rows_except_held_ones(
    writer: IngestWriter, store: AgentStore
) -> None:
    writer.process(
        [message(reading(NOW - d * DAY, source=s)) for d in range(0, 12) for s in ("a", "b")]
    )
    writer.process([message(b"{")])
    hold = add_hold(
        store,
        table="readings",
        source="a",
        ts_from_ms=round((NOW - 11 * DAY) * 1000),
        ts_to_ms=round((NOW - 9 * DAY) * 1000),
        reason="model v3 lineage",
    )
    policy = RetentionPolicy(readings_days=7, quarantine_days=30)
    result = apply_retention(store, policy, now=NOW)
    recent = {(s, d) for s in ("a", "b") for d in range(0, 8)}
    assert days_kept(store) == recent | {("a", 9), ("a", 10), ("a", 11)}
    assert result.readings == 24 - 19
    assert result.quarantine == 0
    release_hold(store, hold)
    apply_retention(store, policy, now=NOW)
    assert days_kept(store) == recent
    later = apply_retention(store, policy, now=NOW + 31 * DAY)
    assert later.quarantine == 1
    assert read_status(store, now=NOW).records_ingested == 24, "counters outlive retention"


def days_kept(store: AgentStore) -> set[tuple[str, int]]:
    return {(s, round((NOW * 1000 - ts) / (DAY * 1000))) for s, ts, _ in rows(store)}


def test_concurrent_readers_see_committed_data(tmp_path: Path, writer: IngestWriter) -> None:
    store_dir = tmp_path / "agent"
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                reader = AgentStore.open_read_only(store_dir)
                read_status(reader, now=NOW)
                reader.close()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(20):
        writer.process([message(reading(NOW - i))])
    thread.join()
    assert errors == []
