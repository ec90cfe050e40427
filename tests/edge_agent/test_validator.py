"""The validator: every way a record can be wrong maps to its reason code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge_agent.governance.validator import NonFinite, RecordValidator
from edgeward.records import MISSING, Candidate, MetricRecord, QuarantineReason, Rejection
from edgeward.schema import parse_schema
from tests.conftest import NOW

R = QuarantineReason
GOOD_METRICS = {"prb_util_dl": 40.5, "active_users": 12}


def candidate(**fields: Any) -> Candidate:
    values: dict[str, Any] = {"ts": NOW - 10, "source": "cell-1", "metrics": GOOD_METRICS}
    values.update(fields)
    return Candidate(origin="test", **values)


def test_a_good_record_is_accepted_with_canonical_types(validator: RecordValidator) -> None:
    outcome = validator.validate(candidate(), now=NOW)
    assert outcome == MetricRecord(
        source="cell-1", ts_ms=round((NOW - 10) * 1000), metrics=GOOD_METRICS, labels={}
    )
    assert isinstance(outcome.metrics["active_users"], int)


@pytest.mark.parametrize(
    ("fields", "reason", "detail"),
    [
        ({"source": MISSING}, R.MISSING_FIELD, "no 'source'"),
        ({"ts": MISSING}, R.MISSING_FIELD, "no 'ts'"),
        ({"metrics": MISSING}, R.MISSING_FIELD, "no 'metrics'"),
        ({"source": 42}, R.BAD_SOURCE, "must be a string"),
        ({"source": "bad/../source\n"}, R.BAD_SOURCE, "source pattern"),
        ({"ts": "yesterday"}, R.BAD_TIMESTAMP, "not ISO-8601"),
        ({"ts": "2026-12-03T10:00:00"}, R.BAD_TIMESTAMP, "no UTC offset"),
        ({"ts": True}, R.BAD_TIMESTAMP, "ISO-8601 or epoch"),
        ({"ts": [1]}, R.BAD_TIMESTAMP, "an array"),
        ({"ts": NonFinite("NaN")}, R.BAD_TIMESTAMP, "ISO-8601 or epoch"),
        ({"ts": 10**400}, R.BAD_TIMESTAMP, "not a finite number"),
        ({"ts": "x" * 100}, R.BAD_TIMESTAMP, "too long"),
        ({"ts": NOW - 40 * 86400}, R.TIMESTAMP_OUT_OF_RANGE, "in the past"),
        ({"ts": NOW + 3600}, R.TIMESTAMP_OUT_OF_RANGE, "in the future"),
        ({"ts": NOW * 1000}, R.TIMESTAMP_OUT_OF_RANGE, "not milliseconds"),
        ({"metrics": {}}, R.BAD_METRICS, "non-empty object"),
        ({"metrics": [1, 2]}, R.BAD_METRICS, "non-empty object"),
        ({"metrics": {"prb_util_dl": 1, "RRU.PrbTotDl": 2}}, R.BAD_METRICS, "given twice"),
        ({"metrics": {"warp_factor": 9}}, R.UNKNOWN_METRIC, "warp_factor"),
        ({"metrics": {"prb_util_dl": "40"}}, R.WRONG_TYPE, "must be a number, got a string"),
        ({"metrics": {"prb_util_dl": True}}, R.WRONG_TYPE, "a boolean"),
        ({"metrics": {"prb_util_dl": None}}, R.WRONG_TYPE, "null"),
        ({"metrics": {"prb_util_dl": {"v": 1}}}, R.WRONG_TYPE, "an object"),
        ({"metrics": {"active_users": 3.5}}, R.WRONG_TYPE, "must be an integer"),
        ({"metrics": {"prb_util_dl": NonFinite("NaN")}}, R.NON_FINITE_VALUE, "not a finite"),
        ({"metrics": {"prb_util_dl": NonFinite("-Infinity")}}, R.NON_FINITE_VALUE, "-inf"),
        ({"metrics": {"prb_util_dl": float("nan")}}, R.NON_FINITE_VALUE, "not a finite"),
        ({"metrics": {"prb_util_dl": float("inf")}}, R.NUMBER_TOO_LARGE, "double"),
        ({"metrics": {"prb_util_dl": 10**400}}, R.NUMBER_TOO_LARGE, "double"),
        ({"metrics": {"prb_util_dl": 100.5}}, R.OUT_OF_RANGE, "outside [0.0, 100.0]"),
        ({"metrics": {"temperature_c": -80}}, R.OUT_OF_RANGE, "outside"),
        ({"labels": "vendor=x"}, R.BAD_LABELS, "must be an object"),
        ({"labels": {"vendor": {"nested": 1}}}, R.BAD_LABELS, "scalar"),
        ({"labels": {"vendor": "x" * 300}}, R.BAD_LABELS, "too long"),
        ({"labels": {f"l{i}": "v" for i in range(40)}}, R.BAD_LABELS, "at most 32"),
        ({"extra": {"firmware": [1, 2]}}, R.BAD_LABELS, "scalar"),
    ],
)
def test_each_fault_has_its_reason(
    validator: RecordValidator, fields: dict[str, Any], reason: QuarantineReason, detail: str
) -> None:
    outcome = validator.validate(candidate(**fields), now=NOW)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert detail in outcome.detail
    assert outcome.origin == "test"


def test_timestamps_in_every_accepted_form(validator: RecordValidator) -> None:
    forms = [NOW - 60, int(NOW - 60), "2026-12-03T12:12:20Z", "2026-12-03T14:12:20+02:00"]
    outcomes = [validator.validate(candidate(ts=form), now=NOW) for form in forms]
    assert {o.ts_ms for o in outcomes if isinstance(o, MetricRecord)} == {round((NOW - 60) * 1000)}


def test_aliases_become_canonical_names(validator: RecordValidator) -> None:
    outcome = validator.validate(
        candidate(metrics={"RRU.PrbTotDl": 12.0, "RRC.ConnMean": 7}), now=NOW
    )
    assert isinstance(outcome, MetricRecord)
    assert outcome.metrics == {"prb_util_dl": 12.0, "active_users": 7}


def test_pii_is_hashed_or_dropped_in_labels_and_extra_fields(validator: RecordValidator) -> None:
    outcome = validator.validate(
        candidate(
            labels={"IMSI": "001010123456789", "vendor": "acme", "mac": "aa:bb:cc:dd:ee:ff"},
            extra={"msisdn": "+33612345678", "firmware": 7},
        ),
        now=NOW,
    )
    assert isinstance(outcome, MetricRecord)
    assert set(outcome.labels) == {"IMSI", "vendor", "msisdn", "firmware"}
    assert outcome.labels["vendor"] == "acme"
    assert outcome.labels["firmware"] == "7"
    assert outcome.labels["IMSI"].startswith("pii:")
    assert "001010123456789" not in json.dumps(outcome.labels)
    again = validator.validate(candidate(labels={"imsi": "001010123456789"}), now=NOW)
    assert isinstance(again, MetricRecord)
    assert again.labels["imsi"] == outcome.labels["IMSI"], "the same subscriber, same pseudonym"


def test_quarantined_raw_has_pii_scrubbed(validator: RecordValidator) -> None:
    outcome = validator.validate(
        candidate(ts="never", labels={"imsi": "001010123456789"}, extra={"mac": "aa:bb"}),
        now=NOW,
    )
    assert isinstance(outcome, Rejection)
    raw = json.loads(outcome.raw)
    assert raw["ts"] == "never"
    assert raw["labels"]["imsi"].startswith("pii:")
    assert "mac" not in raw


def test_unknown_metrics_can_be_accepted_by_policy(schema_text: str) -> None:
    from edge_agent.governance.pii import PiiScrubber

    lenient = parse_schema(
        schema_text.replace('unknown_metrics = "quarantine"', 'unknown_metrics = "accept"'),
        origin="test",
    )
    validator = RecordValidator(lenient, PiiScrubber(lenient.pii, b"k"))
    outcome = validator.validate(candidate(metrics={"warp_factor": 9, "cpu_pct": 10}), now=NOW)
    assert isinstance(outcome, MetricRecord)
    assert outcome.metrics == {"warp_factor": 9.0, "cpu_pct": 10.0}
    still_checked = validator.validate(candidate(metrics={"warp_factor": "fast"}), now=NOW)
    assert isinstance(still_checked, Rejection)
    assert still_checked.reason == R.WRONG_TYPE


def test_required_metrics_are_enforced(schema_text: str) -> None:
    from edge_agent.governance.pii import PiiScrubber

    strict = parse_schema(
        schema_text.replace(
            'aliases = ["RRC.ConnMean"]', 'aliases = ["RRC.ConnMean"]\nrequired = true'
        ),
        origin="test",
    )
    validator = RecordValidator(strict, PiiScrubber(strict.pii, b"k"))
    outcome = validator.validate(candidate(metrics={"cpu_pct": 10}), now=NOW)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == R.MISSING_REQUIRED_METRIC
    assert "active_users" in outcome.detail


@pytest.fixture
def schema_text() -> str:
    from importlib import resources

    return resources.files("edgeward.schemas").joinpath("ran_kpi.toml").read_text("utf-8")
