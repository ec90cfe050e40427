"""The metric simulator: deterministic, realistic, in range, with faithful ground truth."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edge_agent.governance.pii import PiiScrubber
from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.json_payload import PayloadLimits, decode_json_payload
from edgeward.errors import SettingsError
from edgeward.records import MetricRecord, QuarantineReason, Rejection
from edgeward.schema import load_schema
from edgeward.simulator import (
    BAD_PAYLOAD_KIND_NAMES,
    BAD_PAYLOAD_KINDS,
    METRIC_NAMES,
    METRICS,
    Anomaly,
    AnomalyKind,
    BadPayloadFactory,
    CellType,
    KpiSimulator,
    PublishOptions,
    Reading,
    SimulatedSeries,
    bad_payloads,
    encode_readings,
    parse_mqtt_url,
    profiles_for,
    run_simulation,
    simulate,
    site_profile,
)

MONDAY = 1_717_372_800.0  # 2024-06-03 00:00 UTC
NOW = 1_800_000_000.0
SCHEMA = load_schema()


@pytest.fixture(scope="module")
def validator() -> RecordValidator:
    return RecordValidator(SCHEMA, PiiScrubber(SCHEMA.pii, b"k"))


def ingest(
    validator: RecordValidator, payload: bytes, now: float, topic_source: str | None = None
) -> list[MetricRecord | Rejection]:
    """Run one payload through the agent's real decoder and validator."""
    decoded = decode_json_payload(
        payload, origin="test", limits=PayloadLimits(), fallback_source=topic_source
    )
    return [e if isinstance(e, Rejection) else validator.validate(e, now=now) for e in decoded]


def week(
    site: str = "lyon-01", sources: int = 6, seed: int = 1, **kwargs: float
) -> SimulatedSeries:
    return simulate(
        site=site, sources=sources, seed=seed, start_ts=MONDAY, step_s=600, steps=7 * 144, **kwargs
    )


def windows(series: SimulatedSeries) -> np.ndarray:
    """Return a (steps, cells) mask of the readings inside an anomaly window."""
    mask = np.zeros(series.values.shape[:2], dtype=bool)
    for anomaly in series.anomalies:
        steps = (series.ts >= anomaly.start_ts) & (series.ts <= anomaly.end_ts)
        mask[steps, series.sources.index(anomaly.source)] = True
    return mask


# --- the metric table ---------------------------------------------------------------------


def test_metrics_are_the_schema_metrics_with_its_ranges() -> None:
    assert set(METRIC_NAMES) == set(SCHEMA.metrics)
    for metric in METRICS:
        spec = SCHEMA.metrics[metric.name]
        assert (metric.low, metric.high) == (spec.min, spec.max)
        assert metric.integer == (spec.type == "int")


def test_bad_payload_limits_are_the_agents_defaults() -> None:
    limits = PayloadLimits()
    header = SCHEMA.header
    assert limits.max_bytes == bad_payloads.MAX_PAYLOAD_BYTES
    assert limits.max_batch == bad_payloads.MAX_BATCH
    assert header.max_past_seconds == bad_payloads.MAX_PAST_S
    assert header.max_future_seconds == bad_payloads.MAX_FUTURE_S
    assert header.max_labels == bad_payloads.MAX_LABELS
    assert header.max_label_length == bad_payloads.MAX_LABEL_LENGTH


# --- profiles and determinism -------------------------------------------------------------


def test_source_names_match_the_schema_pattern() -> None:
    pattern = re.compile(SCHEMA.header.source_pattern)
    profiles = profiles_for("paris-7.north_B", 12, seed=3)
    assert [p.source for p in profiles][:2] == [
        "paris-7.north_B-cell-000",
        "paris-7.north_B-cell-001",
    ]
    assert all(pattern.match(p.source) for p in profiles)


@pytest.mark.parametrize("site", ["", "a/b", "cell#1", "-lead", "x" * 65, "with space"])
def test_a_site_unfit_for_topics_is_refused(site: str) -> None:
    with pytest.raises(ValueError, match="site"):
        profiles_for(site, 1, seed=0)


def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        profiles_for("lyon-01", 1, seed=-1)


def test_same_seed_gives_the_same_series_and_anomalies() -> None:
    first = week(anomaly_rate=0.05)
    second = week(anomaly_rate=0.05)
    assert np.array_equal(first.values, second.values)
    assert first.anomalies == second.anomalies
    assert first.anomalies


def test_streaming_gives_the_same_readings_as_a_whole_series() -> None:
    series = simulate(
        site="lyon-01", sources=4, seed=5, start_ts=MONDAY, step_s=60, steps=300, anomaly_rate=0.1
    )
    simulator = KpiSimulator(site="lyon-01", sources=4, seed=5, anomaly_rate=0.1)
    readings: list[Reading] = []
    ended: list[Anomaly] = []
    for ts in series.ts.tolist():
        tick = simulator.step(ts)
        readings.extend(tick.readings)
        ended.extend(tick.ended)
    ended.extend(simulator.close())
    assert readings == series.readings()
    assert sorted(ended, key=lambda a: (a.start_ts, a.source)) == list(series.anomalies)


def test_other_seeds_and_sites_give_other_series() -> None:
    base = week()
    assert not np.array_equal(base.values, week(seed=2).values)
    assert not np.array_equal(base.values, week(site="lyon-02").values)


def test_a_cell_does_not_depend_on_how_many_cells_are_simulated() -> None:
    small = week(sources=3, anomaly_rate=0.05)
    large = week(sources=7, anomaly_rate=0.05)
    assert np.array_equal(small.values, large.values[:, :3])
    assert set(small.anomalies) == {a for a in large.anomalies if a.source in small.sources}


def test_sites_are_not_identically_distributed() -> None:
    sites = [f"site-{i}" for i in range(6)]
    mixes = {site_profile(site, seed=1).cell_mix for site in sites}
    assert len(mixes) == len(sites)
    mean_prb = [week(site=site, sources=8).column("prb_util_dl").mean() for site in sites]
    assert max(mean_prb) - min(mean_prb) > 5.0


# --- realism ------------------------------------------------------------------------------


def test_values_stay_within_the_schema_ranges_over_a_week() -> None:
    series = week(sources=12, anomaly_rate=0.3)
    for index, metric in enumerate(METRICS):
        column = series.values[:, :, index]
        assert column.min() >= metric.low, metric.name
        assert column.max() <= metric.high, metric.name
    users = series.column("active_users")
    assert np.array_equal(users, np.rint(users))


def test_every_reading_is_accepted_by_the_agent(validator: RecordValidator) -> None:
    series = simulate(
        site="lyon-01",
        sources=5,
        seed=9,
        start_ts=NOW - 86400,
        step_s=300,
        steps=288,
        anomaly_rate=0.3,
    )
    for reading in series.readings():
        outcome = ingest(validator, encode_readings([reading]), now=NOW)
        assert all(isinstance(o, MetricRecord) for o in outcome), outcome
    assert isinstance(series.readings()[0].metrics["active_users"], int)


def hourly_prb(cell_type: CellType) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return PRB utilisation of one cell of `cell_type`, its UTC hours and weekend flags."""
    profiles = profiles_for("cycles", 40, seed=4)
    index = next(p.index for p in profiles if p.cell_type is cell_type)
    series = week(site="cycles", sources=index + 1, seed=4, anomaly_rate=0.0)
    hours = (series.ts % 86400) / 3600
    weekend = series.ts >= MONDAY + 5 * 86400
    return series.column("prb_util_dl")[:, index], hours, weekend


def test_business_cells_peak_in_weekday_working_hours() -> None:
    prb, hours, weekend = hourly_prb(CellType.BUSINESS)
    working = (hours >= 10) & (hours < 16)
    night = (hours >= 2) & (hours < 5)
    assert prb[working & ~weekend].mean() > 2 * prb[night & ~weekend].mean()
    assert prb[working & ~weekend].mean() > 1.5 * prb[working & weekend].mean()


def test_residential_cells_peak_in_the_evening_and_at_weekends() -> None:
    prb, hours, weekend = hourly_prb(CellType.RESIDENTIAL)
    evening = (hours >= 19) & (hours < 22)
    night = (hours >= 2) & (hours < 5)
    daytime = (hours >= 10) & (hours < 16)
    assert prb[evening].mean() > 2 * prb[night].mean()
    assert prb[daytime & weekend].mean() > 1.3 * prb[daytime & ~weekend].mean()


# --- anomalies ----------------------------------------------------------------------------


def test_anomalies_cover_roughly_the_configured_share_of_readings() -> None:
    series = simulate(site="rate", sources=20, seed=11, start_ts=MONDAY, step_s=60, steps=3 * 1440)
    share = windows(series).mean()
    assert 0.0075 < share < 0.03
    assert {a.kind for a in series.anomalies} == set(AnomalyKind)


def test_no_anomalies_at_rate_zero() -> None:
    assert week(sources=10, anomaly_rate=0.0).anomalies == ()


def test_anomalies_alter_exactly_the_readings_in_their_windows() -> None:
    series = week(sources=12, seed=8, anomaly_rate=0.05)
    clean = week(sources=12, seed=8, anomaly_rate=0.0)
    mask = windows(series)
    assert np.array_equal(series.values[~mask], clean.values[~mask])
    assert {a.kind for a in series.anomalies} == set(AnomalyKind)
    for anomaly in series.anomalies:
        steps = np.flatnonzero((series.ts >= anomaly.start_ts) & (series.ts <= anomaly.end_ts))
        cell = series.sources.index(anomaly.source)
        columns = [METRIC_NAMES.index(name) for name in anomaly.metrics]
        seen = series.values[steps, cell][:, columns]
        if anomaly.kind is AnomalyKind.STUCK:
            before = series.values[steps[0] - 1, cell, columns]
            assert (seen == before).all(), anomaly
        else:
            assert (seen != clean.values[steps, cell][:, columns]).any(), anomaly


def test_a_drift_grows_over_its_window() -> None:
    series = week(sources=12, seed=8, anomaly_rate=0.05)
    clean = week(sources=12, seed=8, anomaly_rate=0.0)
    drifts = [a for a in series.anomalies if a.kind is AnomalyKind.DRIFT]
    assert drifts
    for anomaly in drifts:
        steps = (series.ts >= anomaly.start_ts) & (series.ts <= anomaly.end_ts)
        delta = (series.column(anomaly.metrics[0]) - clean.column(anomaly.metrics[0]))[
            steps, series.sources.index(anomaly.source)
        ]
        assert delta[-1] > delta[0] > 0


def test_closing_a_stream_cuts_open_anomalies_at_the_last_reading() -> None:
    simulator = KpiSimulator(site="lyon-01", sources=30, seed=2, anomaly_rate=0.5)
    times = [MONDAY + 60 * i for i in range(20)]
    for ts in times:
        simulator.step(ts)
    still_open = simulator.close()
    assert still_open
    assert all(a.end_ts == times[-1] and a.start_ts <= a.end_ts for a in still_open)


def test_time_must_advance() -> None:
    simulator = KpiSimulator(site="lyon-01", sources=1, seed=0)
    simulator.step(MONDAY)
    with pytest.raises(ValueError, match="time must advance"):
        simulator.step(MONDAY)


# --- bad payloads -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_PAYLOAD_KIND_NAMES)
def test_each_bad_payload_gets_exactly_its_reason(kind: str, validator: RecordValidator) -> None:
    factory = BadPayloadFactory(np.random.default_rng(7))
    for _ in range(40):
        bad = factory.make(kind, now=NOW, source="lyon-01-cell-004")
        assert bad.reason is BAD_PAYLOAD_KINDS[kind][0]
        outcome = ingest(validator, bad.payload, now=NOW, topic_source="lyon-01-cell-004")
        assert [getattr(o, "reason", None) for o in outcome] == [bad.reason], bad.payload[:300]


def test_the_catalogue_covers_the_ingestion_reasons() -> None:
    reasons = {reason for reason, _ in BAD_PAYLOAD_KINDS.values()}
    not_from_mqtt_json = {
        QuarantineReason.MISSING_REQUIRED_METRIC,  # the bundled schema requires no metric
        QuarantineReason.CONFLICTING_DUPLICATE,
        QuarantineReason.UNREADABLE_FILE,
        QuarantineReason.BAD_PM_FILE,
        QuarantineReason.SUSPECT_MEASUREMENT,
        QuarantineReason.BAD_EXPOSITION,
        QuarantineReason.BAD_CSV_ROW,
        QuarantineReason.INTERNAL_ERROR,
    }
    assert reasons == set(QuarantineReason) - not_from_mqtt_json


def test_bad_payloads_are_all_different_even_once_quarantined(
    validator: RecordValidator,
) -> None:
    factory = BadPayloadFactory(np.random.default_rng(1))
    payloads = [
        factory.make(kind, now=NOW, source="lyon-01-cell-000").payload
        for kind in BAD_PAYLOAD_KIND_NAMES
        for _ in range(30)
    ]
    assert len(set(payloads)) == len(payloads)
    # The quarantine folds entries with the same origin, reason and raw bytes.
    fingerprints = [
        (r.origin, r.reason, r.raw)
        for payload in payloads
        for r in ingest(validator, payload, now=NOW)
        if isinstance(r, Rejection)
    ]
    assert len(set(fingerprints)) == len(payloads)


def test_an_unknown_bad_payload_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown bad payload kind"):
        BadPayloadFactory(np.random.default_rng(0)).make("nope", now=NOW, source="s")


# --- publishing (without a broker) --------------------------------------------------------


class RecordingSink:
    """A message sink that keeps what it is given; sets `stop` after `stop_after` messages."""

    def __init__(self, stop: threading.Event | None = None, stop_after: int = 0) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._stop = stop
        self._stop_after = stop_after

    def publish(self, topic: str, payload: bytes, *, stop: threading.Event | None = None) -> bool:
        self.messages.append((topic, payload))
        if self._stop is not None and len(self.messages) == self._stop_after:
            self._stop.set()
        return True

    def drain(self, timeout_s: float) -> int:
        return 0


def options(**changes: object) -> PublishOptions:
    base: dict[str, object] = {
        "site": "lyon-01",
        "sources": 3,
        "rate": 1e6,
        "mqtt_url": "mqtt://localhost",
        "seed": 4,
    }
    return PublishOptions(**{**base, **changes})  # type: ignore[arg-type]


def decoded(validator: RecordValidator, sink: RecordingSink) -> list[MetricRecord | Rejection]:
    return [
        outcome
        for topic, payload in sink.messages
        for outcome in ingest(validator, payload, now=NOW, topic_source=topic.split("/")[2])
    ]


def test_cells_take_turns_and_every_message_is_accepted(validator: RecordValidator) -> None:
    sink = RecordingSink()
    progress: list[int] = []
    report = run_simulation(options(count=30), sink, clock=lambda: NOW, on_progress=progress.append)
    topics = [topic for topic, _ in sink.messages]
    assert topics[:4] == [
        "edgeward/lyon-01/lyon-01-cell-000/metrics",
        "edgeward/lyon-01/lyon-01-cell-001/metrics",
        "edgeward/lyon-01/lyon-01-cell-002/metrics",
        "edgeward/lyon-01/lyon-01-cell-000/metrics",
    ]
    records = decoded(validator, sink)
    assert len(records) == 30
    assert all(isinstance(r, MetricRecord) for r in records)
    assert (report.published, report.good, report.bad, report.readings) == (30, 30, 0, 30)
    assert progress[-1] == 30


def test_batches_hold_consecutive_simulated_readings_ending_near_now(
    validator: RecordValidator,
) -> None:
    sink = RecordingSink()
    report = run_simulation(options(count=12, batch=5, step_s=60.0), sink, clock=lambda: NOW)
    assert report.readings == 60
    records = [r for r in decoded(validator, sink) if isinstance(r, MetricRecord)]
    assert len(records) == 60
    cell0 = sorted(r.ts_ms for r in records if r.source == "lyon-01-cell-000")
    assert np.all(np.diff(cell0) == 60_000)
    assert NOW * 1000 - 60_000 < cell0[-1] <= NOW * 1000


def test_wall_clock_timestamps_are_distinct_and_not_ahead(validator: RecordValidator) -> None:
    sink = RecordingSink()
    run_simulation(options(count=30, batch=4), sink, clock=lambda: NOW)
    records = [r for r in decoded(validator, sink) if isinstance(r, MetricRecord)]
    keys = [(r.source, r.ts_ms) for r in records]
    assert len(records) == 120
    assert len(set(keys)) == len(keys)
    assert max(r.ts_ms for r in records) <= NOW * 1000 + 1000


def test_bad_payloads_are_quarantined_as_logged(validator: RecordValidator, tmp_path: Path) -> None:
    sink = RecordingSink()
    bad_log = tmp_path / "bad.jsonl"
    report = run_simulation(
        options(count=400, bad_fraction=0.3, bad_log=bad_log), sink, clock=lambda: NOW
    )
    lines = [json.loads(line) for line in bad_log.read_text().splitlines()]
    rejected = Counter(o.reason.value for o in decoded(validator, sink) if isinstance(o, Rejection))
    assert 60 < report.bad < 180
    assert report.good + report.bad == report.published == 400
    assert rejected == Counter(line["reason"] for line in lines) == report.bad_by_reason
    assert all(line["topic"].startswith("edgeward/lyon-01/lyon-01-cell-") for line in lines)


def test_labels_file_is_the_ground_truth_of_the_published_series(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    report = run_simulation(
        options(count=1200, step_s=60.0, anomaly_rate=0.2, labels_file=labels),
        RecordingSink(),
        clock=lambda: NOW,
    )
    written = [json.loads(line) for line in labels.read_text().splitlines()]
    expected = simulate(
        site="lyon-01",
        sources=3,
        seed=4,
        start_ts=NOW - 399 * 60,
        step_s=60,
        steps=400,
        anomaly_rate=0.2,
    )
    assert report.anomalies == len(written) > 0
    key = lambda a: (a["start_ts"], a["source"])  # noqa: E731
    assert sorted(written, key=key) == [a.to_json() for a in expected.anomalies]


def test_a_stop_event_ends_the_run() -> None:
    stop = threading.Event()
    report = run_simulation(options(), RecordingSink(stop, stop_after=25), stop=stop)
    assert report.published == 25


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": 0.0}, "rate"),
        ({"sources": 0}, "sources"),
        ({"bad_fraction": 1.5}, "bad fraction"),
        ({"anomaly_rate": 0.9}, "anomaly rate"),
        ({"site": "a/b"}, "site"),
        ({"step_s": 0.0}, "step"),
        ({"labels_file": Path("/no/such/folder/labels.jsonl")}, "folder"),
    ],
)
def test_bad_options_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        run_simulation(options(**changes), RecordingSink())


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker.local", "broker.local", 1883, False),
        ("mqtt://10.0.0.5:1884", "10.0.0.5", 1884, False),
        ("mqtts://broker.local", "broker.local", 8883, True),
        ("tcp://[::1]:2000", "::1", 2000, False),
    ],
)
def test_mqtt_urls_are_parsed(url: str, host: str, port: int, tls: bool) -> None:
    address = parse_mqtt_url(url)
    assert (address.host, address.port, address.tls) == (host, port, tls)


@pytest.mark.parametrize("url", ["http://broker", "mqtt://", "mqtt://host:99999", "broker:1883"])
def test_bad_mqtt_urls_are_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="MQTT URL"):
        parse_mqtt_url(url)
