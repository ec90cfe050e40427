"""Prometheus and OpenMetrics scraping: grouping by source, naming, filters and failures."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.prometheus import PrometheusScraper, metric_key, parse_exposition
from edge_agent.ingest.writer import IngestWriter
from edge_agent.settings import PrometheusTarget
from edge_agent.store import AgentStore, read_status
from edgeward.records import Candidate, MetricRecord, QuarantineReason, Rejection
from edgeward.schema import parse_schema
from tests.conftest import NOW

EXPOSITION = (
    Path(__file__).parent.parent / "data" / "prometheus" / "ran_exporter.prom"
).read_bytes()
R = QuarantineReason


def target(url: str = "http://127.0.0.1:9/metrics", **kw: object) -> PrometheusTarget:
    return PrometheusTarget.model_validate({"url": url, "source": "bbu-1", **kw})


def test_metric_key_is_canonical() -> None:
    assert metric_key("x", {}) == "x"
    assert metric_key("t", {"sensor": "a", "chip": "b"}) == 't{chip="b",sensor="a"}'


def test_samples_group_by_source_label_and_timestamp() -> None:
    result = parse_exposition(
        EXPOSITION,
        target=target(source_label="cell", include=[r"ran_.*"]),
        openmetrics=False,
        scrape_ts=NOW,
    )
    groups = {(c.source, c.ts): c.metrics for c in result.entries if isinstance(c, Candidate)}
    assert groups == {
        ("Marseille-4-A", NOW): {
            'ran_prb_util_dl_percent{band="n78"}': 58.25,
            "ran_active_users": 141.0,
        },
        ("Marseille-4-B", NOW): {
            'ran_prb_util_dl_percent{band="n78"}': 33.0,
            "ran_active_users": 87.0,
        },
        ("Marseille-4-A", 1_796_300_040.0): {"ran_latency_ms": 14.5},
    }
    assert result.filtered == 6


def test_schema_aliases_map_exporter_names(validator: RecordValidator) -> None:
    result = parse_exposition(
        EXPOSITION,
        target=target(include=[r"node_hwmon_temp_celsius"]),
        openmetrics=False,
        scrape_ts=NOW,
    )
    (candidate,) = result.entries
    assert isinstance(candidate, Candidate)
    aliased = parse_schema(
        _schema_with_alias('node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"}'),
        origin="test",
    )
    from edge_agent.governance.pii import PiiScrubber

    outcome = RecordValidator(aliased, PiiScrubber({}, b"k")).validate(candidate, now=NOW)
    assert isinstance(outcome, MetricRecord)
    assert outcome.metrics == {"temperature_c": 47.0}
    assert outcome.source == "bbu-1"


def _schema_with_alias(alias: str) -> str:
    from importlib import resources

    text = resources.files("edgeward.schemas").joinpath("ran_kpi.toml").read_text("utf-8")
    return text.replace('aliases = ["node_hwmon_temp_celsius"]', f"aliases = [{alias!r}]")


def test_unselected_unknown_and_nan_samples_are_quarantined_not_lost(
    validator: RecordValidator,
) -> None:
    result = parse_exposition(EXPOSITION, target=target(), openmetrics=False, scrape_ts=NOW)
    outcomes = [validator.validate(c, now=NOW) for c in result.entries if isinstance(c, Candidate)]
    assert result.filtered == 0
    assert {o.reason for o in outcomes if isinstance(o, Rejection)} == {R.UNKNOWN_METRIC}


def test_openmetrics_is_parsed() -> None:
    body = b'# TYPE ran_active_users gauge\nran_active_users{cell="c"} 3 1796300000.5\n# EOF\n'
    result = parse_exposition(
        body, target=target(source_label="cell"), openmetrics=True, scrape_ts=NOW
    )
    (candidate,) = result.entries
    assert isinstance(candidate, Candidate)
    assert (candidate.source, candidate.ts, candidate.metrics) == (
        "c",
        1_796_300_000.5,
        {"ran_active_users": 3},
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"ran_active_users{cell=c} 3\n", R.BAD_EXPOSITION),
        (b"this is not an exposition at all\n", R.BAD_EXPOSITION),
        (b"\xff\xfe metrics", R.INVALID_UTF8),
    ],
)
def test_broken_expositions_are_quarantined_whole(body: bytes, reason: QuarantineReason) -> None:
    result = parse_exposition(body, target=target(), openmetrics=False, scrape_ts=NOW)
    (rejection,) = result.entries
    assert isinstance(rejection, Rejection)
    assert rejection.reason == reason
    assert rejection.raw == body


class _Exporter(http.server.BaseHTTPRequestHandler):
    body = EXPOSITION
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def exporter() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def test_scraping_a_live_exporter_stores_records(exporter: str, store: AgentStore) -> None:
    from edge_agent.governance.pii import PiiScrubber

    schema = parse_schema(
        _schema_with_alias("node_hwmon_temp_celsius").replace(
            'aliases = ["RRC.ConnMean"]', 'aliases = ["RRC.ConnMean", "ran_active_users"]'
        ),
        origin="test",
    )
    writer = IngestWriter(
        store,
        RecordValidator(schema, PiiScrubber({}, b"k")),
        schema_id=store.register_schema(schema),
    )
    scraper = PrometheusScraper(
        target(exporter, source_label="cell", include=[r"ran_active_users"]),
        writer,
        store,
        clock=lambda: NOW,
    )
    assert scraper.scrape_once()
    writer.start()
    writer.stop()
    status = read_status(store, now=NOW)
    assert status.records_stored == 2
    assert status.counters == {"prometheus.samples_filtered": 9, "prometheus.scrapes": 1}


def test_an_unreachable_exporter_is_counted(writer: IngestWriter, store: AgentStore) -> None:
    scraper = PrometheusScraper(target("http://127.0.0.1:9/metrics", timeout_s=1), writer, store)
    assert not scraper.scrape_once()
    writer.start()
    writer.stop()
    status = read_status(store, now=NOW)
    assert status.counters == {"prometheus.scrape_errors": 1}
    assert (status.records_ingested, status.quarantined) == (0, 0), "nothing was handed over"


def test_an_oversized_exposition_is_quarantined(
    exporter: str, writer: IngestWriter, store: AgentStore
) -> None:
    scraper = PrometheusScraper(target(exporter, max_bytes=1024), writer, store)
    scraper.scrape_once()
    writer.start()
    writer.stop()
    assert read_status(store, now=NOW).quarantined_by_reason == {"payload_too_large": 1}
