"""MQTT JSON payloads: safe decoding, batches, and fuzzing that nothing ever raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.json_payload import PayloadLimits, decode_json_payload
from edgeward.records import Candidate, MetricRecord, QuarantineReason, Rejection
from tests.conftest import NOW

R = QuarantineReason
LIMITS = PayloadLimits()


def run(payload: bytes, validator: RecordValidator, **kwargs: Any) -> list[Any]:
    """Decode and validate like the writer does."""
    return [
        entry if isinstance(entry, Rejection) else validator.validate(entry, now=NOW)
        for entry in decode_json_payload(payload, origin="mqtt:t", limits=LIMITS, **kwargs)
    ]


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"ts": NOW, "source": "cell-7", "metrics": {"cpu_pct": 30.0}}
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * (64 * 1024 + 1), R.PAYLOAD_TOO_LARGE),
        (b"\xff\xfe\x00garbage", R.INVALID_UTF8),
        (bytes(range(256)), R.INVALID_UTF8),
        (b"{not json", R.INVALID_JSON),
        (b"", R.INVALID_JSON),
        (b"[" * 20_000 + b"]" * 20_000, R.TOO_DEEP),
        (b'{"ts": 1' + b"0" * 5000 + b"}", R.NUMBER_TOO_LARGE),
        (b"42", R.NOT_AN_OBJECT),
        (b'"text"', R.NOT_AN_OBJECT),
        (b"[]", R.NOT_AN_OBJECT),
    ],
)
def test_unusable_payloads_are_rejected_whole(
    validator: RecordValidator, payload: bytes, reason: QuarantineReason
) -> None:
    (outcome,) = run(payload, validator)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert outcome.raw == payload


def test_a_batch_is_validated_element_by_element(validator: RecordValidator) -> None:
    batch = [record(), record(ts=NOW - 1, metrics={"cpu_pct": 400}), 7, record(ts=NOW - 2)]
    outcomes = run(json.dumps(batch).encode(), validator)
    assert [type(o).__name__ for o in outcomes] == [
        "MetricRecord",
        "Rejection",
        "Rejection",
        "MetricRecord",
    ]
    assert outcomes[1].reason == R.OUT_OF_RANGE
    assert outcomes[1].origin == "mqtt:t[1]"
    assert outcomes[2].reason == R.NOT_AN_OBJECT
    assert outcomes[2].raw == b"7"


def test_a_batch_over_the_limit_is_rejected(validator: RecordValidator) -> None:
    batch = json.dumps([record(ts=NOW - i) for i in range(11)]).encode()
    (outcome,) = [
        entry
        for entry in decode_json_payload(
            batch, origin="t", limits=PayloadLimits(max_bytes=65536, max_batch=10)
        )
    ]
    assert isinstance(outcome, Rejection)
    assert outcome.reason == R.BATCH_TOO_LARGE


def test_nan_literals_are_non_finite_not_invalid_json(validator: RecordValidator) -> None:
    payload = b'{"ts": %d, "source": "c", "metrics": {"cpu_pct": NaN}}' % NOW
    (outcome,) = run(payload, validator)
    assert outcome.reason == R.NON_FINITE_VALUE


def test_overflowing_float_literal_is_too_large(validator: RecordValidator) -> None:
    payload = b'{"ts": %d, "source": "c", "metrics": {"cpu_pct": 1e400}}' % NOW
    (outcome,) = run(payload, validator)
    assert outcome.reason == R.NUMBER_TOO_LARGE


def test_the_topic_names_the_source_when_the_record_does_not(validator: RecordValidator) -> None:
    payload = json.dumps({"ts": NOW, "metrics": {"cpu_pct": 1}}).encode()
    (named,) = run(payload, validator, fallback_source="cell-from-topic")
    assert isinstance(named, MetricRecord)
    assert named.source == "cell-from-topic"
    (unnamed,) = run(payload, validator)
    assert unnamed.reason == R.MISSING_FIELD


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.floats(), st.integers(), st.text(max_size=30), json_values),
        "source": st.one_of(st.text(max_size=30), json_values),
        "metrics": st.one_of(
            st.dictionaries(
                st.sampled_from(["cpu_pct", "active_users", "prb_util_dl", "x"]) | st.text(),
                st.floats() | st.integers() | json_values,
                max_size=5,
            ),
            json_values,
        ),
        "labels": json_values,
        "imsi": json_values,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(validator: RecordValidator, payload: bytes) -> None:
    for outcome in run(payload, validator):
        assert isinstance(outcome, MetricRecord | Rejection)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(records, st.lists(records, max_size=4), json_values))
def test_arbitrary_json_never_raises_and_keeps_every_record(
    validator: RecordValidator, document: Any
) -> None:
    payload = json.dumps(document).encode()
    outcomes = run(payload, validator)
    expected = len(document) if isinstance(document, list) and document else 1
    assert len(outcomes) == expected, "every element is stored or quarantined, none dropped"
    for outcome in outcomes:
        assert isinstance(outcome, MetricRecord | Rejection)
        if isinstance(outcome, Rejection):
            assert outcome.detail
            assert isinstance(outcome.raw, bytes)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ts=st.floats(min_value=NOW - 86400, max_value=NOW),
    cpu=st.floats(min_value=0, max_value=100),
    users=st.integers(min_value=0, max_value=100_000),
)
def test_valid_records_round_trip(
    validator: RecordValidator, ts: float, cpu: float, users: int
) -> None:
    payload = json.dumps(record(ts=ts, metrics={"cpu_pct": cpu, "active_users": users})).encode()
    (outcome,) = run(payload, validator)
    assert isinstance(outcome, MetricRecord)
    assert outcome.metrics == {"cpu_pct": cpu, "active_users": users}
    assert outcome.ts_ms == round(ts * 1000)


def test_candidates_keep_extra_fields_for_labels() -> None:
    (entry,) = decode_json_payload(
        json.dumps(record(site_code="A7")).encode(), origin="t", limits=LIMITS
    )
    assert isinstance(entry, Candidate)
    assert entry.extra == {"site_code": "A7"}
