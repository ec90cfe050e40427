"""3GPP TS 32.435 PM files: realistic exports from LTE and 5G nodes, and broken ones."""

from __future__ import annotations

import gzip
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.pm_folder import PmFileJob, PmFolderWatcher
from edge_agent.ingest.pm_xml import PmFileUnreadable, parse_pm_document
from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.settings import PmFileSettings
from edge_agent.store import AgentStore, read_status
from edgeward.records import MetricRecord, QuarantineReason, Rejection
from tests.conftest import NOW
from tests.fakes.clock import FakeClock

DATA = Path(__file__).parent.parent / "data" / "pm"
LTE = DATA / "A20261203.1200+0000-1215+0000_eNB-Lyon-17.xml"
NR = DATA / "A20261203.1200+0000-1215+0000_gNB-Paris-3.xml"
END_MS = 1_796_300_100_000  # 2026-12-03T12:15:00Z, the files' granularity period end
R = QuarantineReason


def outcomes(path: Path, validator: RecordValidator) -> list[MetricRecord | Rejection]:
    entries = parse_pm_document(path.read_bytes(), origin=f"pm:{path.name}")
    return [e if isinstance(e, Rejection) else validator.validate(e, now=NOW) for e in entries]


def test_lte_positional_file(validator: RecordValidator) -> None:
    records = outcomes(LTE, validator)
    assert all(isinstance(r, MetricRecord) for r in records)
    by_cell = {r.source.rsplit("=", 1)[1]: r for r in records if isinstance(r, MetricRecord)}
    assert by_cell["Lyon-17-A"].metrics == {
        "prb_util_dl": 63.5,
        "prb_util_ul": 21.0,
        "active_users": 118,
    }
    assert by_cell["Lyon-17-C"].metrics == {"prb_util_dl": 12.0, "active_users": 9}, "NIL skipped"
    assert by_cell["Lyon-17-A"].source == (
        "ManagedElement=eNB-Lyon-17,ENodeBFunction=1,EUtranCellFDD=Lyon-17-A"
    )
    assert {r.ts_ms for r in records if isinstance(r, MetricRecord)} == {END_MS}
    assert by_cell["Lyon-17-A"].labels == {"meas_info_id": "PM=1,PmGroup=EUtranCellFDD"}


def test_nr_indexed_file_with_broken_parts(validator: RecordValidator) -> None:
    results = outcomes(NR, validator)
    good = {r.source: r.metrics for r in results if isinstance(r, MetricRecord)}
    assert good == {
        "ManagedElement=gNB-Paris-3,GNBDUFunction=1,NRCellDU=1": {
            "prb_util_dl": 77.5,
            "prb_util_ul": 35.25,
            "active_users": 204,
        },
        "ManagedElement=gNB-Paris-4,GNBDUFunction=1,NRCellDU=1": {"prb_util_dl": 12.5},
    }
    reasons = Counter(r.reason for r in results if isinstance(r, Rejection))
    assert reasons == {
        R.SUSPECT_MEASUREMENT: 1,  # the node flagged NRCellDU=2
        R.OUT_OF_RANGE: 1,  # 250 % PRB utilisation
        R.UNKNOWN_METRIC: 1,  # pmBbTemperature is not in the schema
        R.BAD_PM_FILE: 2,  # r p="7" with no such counter; a measInfo without granPeriod
        R.WRONG_TYPE: 1,  # "twelve"
    }
    bad_index = next(r for r in results if isinstance(r, Rejection) and "p='7'" in r.detail)
    assert b'p="7"' in bad_index.raw


@pytest.mark.parametrize(
    ("content", "reason", "detail"),
    [
        (LTE.read_bytes()[:900], R.UNREADABLE_FILE, "not well-formed"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", R.UNREADABLE_FILE, "not well-formed"),
        (b"<measDataFile/>", R.BAD_PM_FILE, "expected <measCollecFile>"),
        (b"<measCollecFile><fileHeader/></measCollecFile>", R.BAD_PM_FILE, "no <measData>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><measCollecFile>&lol2;</measCollecFile>',
            R.UNREADABLE_FILE,
            "forbidden",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<measCollecFile>&e;</measCollecFile>",
            R.UNREADABLE_FILE,
            "forbidden",
        ),
    ],
)
def test_unusable_files_are_refused_whole(content: bytes, reason: R, detail: str) -> None:
    with pytest.raises(PmFileUnreadable, match=detail) as caught:
        parse_pm_document(content, origin="pm:x")
    assert caught.value.reason == reason


def test_count_mismatch_rejects_only_that_object(validator: RecordValidator) -> None:
    content = LTE.read_bytes().replace(b"63.5 21.0 118", b"63.5 21.0")
    results = [
        e if isinstance(e, Rejection) else validator.validate(e, now=NOW)
        for e in parse_pm_document(content, origin="pm:x")
    ]
    assert [type(r).__name__ for r in results] == ["Rejection", "MetricRecord", "MetricRecord"]
    assert "2 results for 3 counters" in results[0].detail


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "pm"
    path.mkdir()
    return path


def watcher_for(
    folder: Path, writer: IngestWriter, clock: FakeClock, **kw: object
) -> PmFolderWatcher:
    settings = PmFileSettings(watch_dir=folder, settle_s=2.0, **kw)  # type: ignore[arg-type]
    return PmFolderWatcher(settings, writer, clock=clock)


def drain(writer: IngestWriter) -> None:
    """Let the writer thread commit what the watcher handed over, then stop it."""
    writer.start()
    writer.stop()


def test_folder_files_are_stored_then_moved(
    folder: Path, writer: IngestWriter, store: AgentStore, clock: FakeClock
) -> None:
    shutil.copy(LTE, folder / LTE.name)
    with gzip.open(folder / (NR.name + ".gz"), "wb") as packed:
        packed.write(NR.read_bytes())
    (folder / "notes.txt").write_text("ignored: not a PM file")
    for path in folder.iterdir():
        os.utime(path, (NOW - 10, NOW - 10))
    watcher = watcher_for(folder, writer, clock)
    assert watcher.poll_once() == 2
    assert watcher.poll_once() == 0, "files in flight are not handed over twice"
    drain(writer)
    assert sorted(p.name for p in (folder / "done").iterdir()) == [LTE.name, NR.name + ".gz"]
    status = read_status(store, now=NOW)
    assert status.records_stored == 5
    assert status.quarantined == 6
    assert (folder / "notes.txt").exists()


def test_a_file_still_being_written_waits(
    folder: Path, writer: IngestWriter, clock: FakeClock
) -> None:
    target = folder / LTE.name
    shutil.copy(LTE, target)
    os.utime(target, (NOW - 1, NOW - 1))
    watcher = watcher_for(folder, writer, clock)
    assert watcher.poll_once() == 0
    clock.advance(5)
    assert watcher.poll_once() == 1


def test_unreadable_files_go_to_failed_with_a_quarantine_entry(
    folder: Path, writer: IngestWriter, store: AgentStore, clock: FakeClock
) -> None:
    (folder / "truncated.xml").write_bytes(LTE.read_bytes()[:500])
    (folder / "bomb.xml.gz").write_bytes(gzip.compress(b"<a>" + b" " * 3_000_000 + b"</a>"))
    (folder / "corrupt.xml.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    for path in folder.iterdir():
        os.utime(path, (NOW - 10, NOW - 10))
    watcher_for(folder, writer, clock, max_file_bytes=1_000_000).poll_once()
    drain(writer)
    assert sorted(p.name for p in (folder / "failed").iterdir()) == [
        "bomb.xml.gz",
        "corrupt.xml.gz",
        "truncated.xml",
    ]
    rows = dict(store.db.execute("SELECT origin, reason FROM quarantine").fetchall())
    assert rows == {
        "pm:truncated.xml": "unreadable_file",
        "pm:bomb.xml.gz": "payload_too_large",
        "pm:corrupt.xml.gz": "unreadable_file",
    }


def test_a_file_read_again_after_a_crash_adds_nothing(
    folder: Path, writer: IngestWriter, store: AgentStore
) -> None:
    copy = folder / NR.name
    shutil.copy(NR, copy)
    crashed = PmFileJob(copy, max_bytes=10_000_000, on_done=lambda _: None)
    # The agent dies after the commit, before the move: nothing moves the file.
    first = writer.process(
        [Inbound(origin=crashed.origin, raw=b"", decode=crashed.decode, redelivered=True)]
    )
    restarted = PmFileJob(copy, max_bytes=10_000_000, on_done=lambda _: None)
    again = writer.process(
        [
            Inbound(
                origin=restarted.origin,
                raw=b"",
                decode=restarted.decode,
                on_commit=restarted.on_commit,
                redelivered=True,
            )
        ]
    )
    assert (first.records, again.records, again.duplicates) == (2, 0, 2)
    assert again.quarantined == 0, "quarantine entries of a re-read file are not counted twice"
    assert store.db.execute("SELECT sum(occurrences) FROM quarantine").fetchone()[0] == 6
    assert (folder / "done" / NR.name).exists()
