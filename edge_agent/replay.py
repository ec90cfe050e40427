"""Replay a CSV trace into the store, as fast as possible or paced like the original."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge_agent.ingest.csv_replay import CsvRow, read_trace, rebase
from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.store import BatchTotals

CHUNK_ROWS = 500
PACED_FLUSH_S = 0.1


@dataclass(kw_only=True, slots=True, frozen=True)
class ReplayReport:
    """What a replay stored, merged, quarantined and skipped as duplicates."""

    rows: int
    records: int
    merged: int
    duplicates: int
    quarantined: int
    quarantined_by_reason: dict[str, int]


def replay_csv(
    path: Path,
    writer: IngestWriter,
    *,
    speed: float = 0.0,
    rebase_timestamps: bool = True,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Validate and commit every row of `path` through `writer`; return the totals.

    `speed` 0 replays at once; `speed` N replays N times faster than recorded, stamping rows
    with the replay clock when rebasing.
    """
    offset = 0.0
    if rebase_timestamps and speed <= 0:
        last = max((row.ts_s for row in read_trace(path) if row.ts_s is not None), default=None)
        offset = clock() - last if last is not None else 0.0
    totals = BatchTotals()
    pending: list[CsvRow] = []
    rows = 0
    started_wall = clock()
    first_ts: float | None = None
    last_flush = started_wall
    for row in read_trace(path):
        rows += 1
        if speed > 0 and row.ts_s is not None:
            first_ts = row.ts_s if first_ts is None else first_ts
            due = started_wall + (row.ts_s - first_ts) / speed
            if pending and (due - last_flush >= PACED_FLUSH_S):
                _flush(writer, pending, totals)
                last_flush = clock()
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            if rebase_timestamps:
                row = rebase(row, due - row.ts_s)
        elif offset:
            row = rebase(row, offset)
        pending.append(row)
        if len(pending) >= CHUNK_ROWS:
            _flush(writer, pending, totals)
            last_flush = clock()
        if on_progress is not None:
            on_progress(rows)
    _flush(writer, pending, totals)
    return ReplayReport(
        rows=rows,
        records=totals.records,
        merged=totals.merged,
        duplicates=totals.duplicates,
        quarantined=totals.quarantined,
        quarantined_by_reason=dict(totals.quarantined_by_reason),
    )


def _flush(writer: IngestWriter, pending: list[CsvRow], totals: BatchTotals) -> None:
    if not pending:
        return
    entries = [row.entry for row in pending]
    origin = entries[0].origin
    batch = writer.process([Inbound(origin=origin, raw=b"", decode=lambda: entries)])
    totals.add(batch)
    pending.clear()
