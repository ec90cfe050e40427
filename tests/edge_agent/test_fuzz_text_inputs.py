"""Fuzz the PM XML, Prometheus and CSV decoders: bad bytes become rejections, never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.csv_replay import CsvFormatError, read_trace
from edge_agent.ingest.pm_xml import PmFileUnreadable, parse_pm_document
from edge_agent.ingest.prometheus import parse_exposition
from edge_agent.settings import PrometheusTarget
from edgeward.records import Candidate, MetricRecord, Rejection
from tests.conftest import NOW

DATA = Path(__file__).parent.parent / "data"
PM = (DATA / "pm" / "A20261203.1200+0000-1215+0000_gNB-Paris-3.xml").read_bytes()
PROM = (DATA / "prometheus" / "ran_exporter.prom").read_bytes()
TARGET = PrometheusTarget(url="http://127.0.0.1/metrics", source="s", source_label="cell")
FUZZ = settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


Cuts = list[tuple[int, int, bytes]]


def mutate(data: bytes, cuts: Cuts) -> bytes:
    """Replace slices of a realistic input with random bytes."""
    out = bytearray(data)
    for start, length, junk in cuts:
        position = start % max(len(out), 1)
        out[position : position + length % 40] = junk
    return bytes(out)


cuts = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 100), st.binary(max_size=12)), max_size=4
)


@FUZZ
@given(cuts=cuts)
def test_mutated_pm_files_never_crash(validator: RecordValidator, cuts: Cuts) -> None:
    try:
        entries = parse_pm_document(mutate(PM, cuts), origin="pm:f")
    except PmFileUnreadable:
        return  # the file is refused whole, with a reason: the agent quarantines it
    for entry in entries:
        outcome = entry if isinstance(entry, Rejection) else validator.validate(entry, now=NOW)
        assert isinstance(outcome, MetricRecord | Rejection)


@FUZZ
@given(cuts=cuts, openmetrics=st.booleans())
def test_mutated_expositions_never_crash(
    validator: RecordValidator, cuts: Cuts, openmetrics: bool
) -> None:
    result = parse_exposition(
        mutate(PROM, cuts), target=TARGET, openmetrics=openmetrics, scrape_ts=NOW
    )
    for entry in result.entries:
        outcome = entry if isinstance(entry, Rejection) else validator.validate(entry, now=NOW)
        assert isinstance(outcome, MetricRecord | Rejection)


@FUZZ
@given(body=st.text(max_size=400))
def test_arbitrary_csv_never_crashes(tmp_path_factory: pytest.TempPathFactory, body: str) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text("ts,source,cpu_pct\n" + body, encoding="utf-8", errors="surrogateescape")
    try:
        rows = list(read_trace(path))
    except CsvFormatError:
        return
    for row in rows:
        assert isinstance(row.entry, Candidate | Rejection)
