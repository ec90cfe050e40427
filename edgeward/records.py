"""Metric records and quarantine entries: the values that ingestion produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final


class _Missing:
    """The type of `MISSING`: a field the input did not carry at all."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class QuarantineReason(StrEnum):
    """Why an input was set aside instead of stored. Documented in docs/ingestion.md."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    BATCH_TOO_LARGE = "batch_too_large"
    MISSING_FIELD = "missing_field"
    BAD_TIMESTAMP = "bad_timestamp"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    BAD_SOURCE = "bad_source"
    BAD_METRICS = "bad_metrics"
    UNKNOWN_METRIC = "unknown_metric"
    MISSING_REQUIRED_METRIC = "missing_required_metric"
    WRONG_TYPE = "wrong_type"
    NON_FINITE_VALUE = "non_finite_value"
    NUMBER_TOO_LARGE = "number_too_large"
    OUT_OF_RANGE = "out_of_range"
    BAD_LABELS = "bad_labels"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    UNREADABLE_FILE = "unreadable_file"
    BAD_PM_FILE = "bad_pm_file"
    SUSPECT_MEASUREMENT = "suspect_measurement"
    BAD_EXPOSITION = "bad_exposition"
    BAD_CSV_ROW = "bad_csv_row"
    INTERNAL_ERROR = "internal_error"


@dataclass(kw_only=True, slots=True, frozen=True)
class MetricRecord:
    """One validated reading: a source's metrics at one instant.

    `ts_ms` is milliseconds since the Unix epoch (UTC); `metrics` use the schema's canonical
    names; `labels` are short strings with PII already dropped or hashed.
    """

    source: str
    ts_ms: int
    metrics: dict[str, float]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True, frozen=True)
class Candidate:
    """A record as an adapter decoded it, before validation.

    Fields keep whatever type the input had (or `MISSING`); the validator decides whether
    they are good. `extra` holds any other top-level fields, which become labels.
    """

    origin: str
    source: Any
    ts: Any
    metrics: Any
    labels: Any = None
    extra: dict[str, Any] | None = None


@dataclass(kw_only=True, slots=True, frozen=True)
class Rejection:
    """An input set aside with a reason: what becomes one quarantine entry."""

    origin: str
    raw: bytes
    reason: QuarantineReason
    detail: str
    source: str | None = None
