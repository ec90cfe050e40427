"""CSV trace replay: wide rows, labels, rebasing, pacing and broken rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.ingest.csv_replay import CsvFormatError
from edge_agent.ingest.writer import IngestWriter
from edge_agent.replay import replay_csv
from edge_agent.store import AgentStore
from tests.conftest import NOW
from tests.fakes.clock import FakeClock

TRACE = """ts,source,prb_util_dl,active_users,label.vendor,label.imsi
2025-06-01T00:00:00Z,cell-1,40.5,12,acme,001010000000001
2025-06-01T00:01:00Z,cell-1,41.0,,acme,
2025-06-01T00:02:00Z,cell-1,lots,13,acme,
2025-06-01T00:03:00Z,cell-1,42.0
2025-06-01T00:04:00Z,cell-1,43.0,15,acme,
"""


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(TRACE)
    return path


def stored(store: AgentStore) -> list[tuple[int, str, str | None]]:
    return store.db.execute("SELECT ts_ms, metrics, labels FROM readings ORDER BY ts_ms").fetchall()


def test_unpaced_replay_ends_now_and_quarantines_bad_rows(
    trace: Path, writer: IngestWriter, store: AgentStore, clock: FakeClock
) -> None:
    report = replay_csv(trace, writer, clock=clock)
    assert (report.rows, report.records, report.quarantined) == (5, 3, 2)
    assert report.quarantined_by_reason == {"wrong_type": 1, "bad_csv_row": 1}
    rows = stored(store)
    assert rows[-1][0] == round(NOW * 1000), "the last row is rebased to now"
    assert [ts - rows[0][0] for ts, _, _ in rows] == [0, 60_000, 240_000]
    assert rows[1][1] == '{"prb_util_dl":41.0}', "an empty cell is a metric not measured"
    assert '"imsi":"pii:' in (rows[0][2] or ""), "PII in label columns is pseudonymised"


def test_without_rebasing_old_traces_are_quarantined_as_out_of_range(
    trace: Path, writer: IngestWriter, clock: FakeClock
) -> None:
    report = replay_csv(trace, writer, rebase_timestamps=False, clock=clock)
    assert report.records == 0
    assert report.quarantined_by_reason == {"timestamp_out_of_range": 4, "bad_csv_row": 1}


def test_paced_replay_follows_the_recorded_cadence(
    trace: Path, writer: IngestWriter, store: AgentStore, clock: FakeClock
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    report = replay_csv(trace, writer, speed=60.0, clock=clock, sleep=sleep)
    assert report.records == 3
    assert sum(slept) == pytest.approx(4.0), "4 recorded minutes at 60x take 4 s"
    first = stored(store)[0][0]
    assert first == round(NOW * 1000), "paced rows carry the replay clock"


def test_a_header_without_required_columns_is_refused(tmp_path: Path, writer: IngestWriter) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,cell,prb\n1,2,3\n")
    with pytest.raises(CsvFormatError, match="lacks column"):
        replay_csv(path, writer)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(CsvFormatError, match="is empty"):
        replay_csv(tmp_path / "empty.csv", writer)
