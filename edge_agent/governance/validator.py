"""Validate candidate records against the metric schema: a record, or a reason to quarantine.

The validator never raises on bad input: every way a candidate can be wrong maps to one
`QuarantineReason` and a detail a person can act on. A record is accepted or rejected whole,
so that what is stored is a reading as the source sent it and what is quarantined can be
replayed after a fix.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from edge_agent.governance.pii import PiiScrubber
from edgeward.records import MISSING, Candidate, MetricRecord, QuarantineReason, Rejection
from edgeward.schema import MetricSchema

R = QuarantineReason
MAX_TS_TEXT = 64
_SCALARS = (str, int, float, bool)


class NonFinite(float):
    """A JSON `NaN`/`Infinity` literal, kept distinct from a number that overflowed."""

    __slots__ = ()


class _Reject(Exception):
    def __init__(self, reason: QuarantineReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RecordValidator:
    """Check candidates against one schema, scrub PII from labels, and build records."""

    def __init__(self, schema: MetricSchema, scrubber: PiiScrubber) -> None:
        self.schema = schema
        self._scrubber = scrubber
        header = schema.header
        self._source_re = re.compile(header.source_pattern)
        self._names = schema.canonical_names
        self._specs = schema.metrics
        self._required = schema.required_metrics
        self._accept_unknown = header.unknown_metrics == "accept"
        self._max_past_s = header.max_past_seconds
        self._max_future_s = header.max_future_seconds
        self._max_labels = header.max_labels
        self._max_label_len = header.max_label_length

    def validate(self, candidate: Candidate, *, now: float) -> MetricRecord | Rejection:
        """Return the record `candidate` describes, or why it must be quarantined."""
        try:
            source = self._source(candidate.source)
            ts_ms = self._timestamp(candidate.ts, now)
            metrics = self._metrics(candidate.metrics)
            labels = self._labels(candidate.labels, candidate.extra)
        except _Reject as err:
            source_text = candidate.source if isinstance(candidate.source, str) else None
            return Rejection(
                origin=candidate.origin,
                raw=self.quarantine_raw(candidate),
                reason=err.reason,
                detail=err.detail,
                source=source_text[:200] if source_text else None,
            )
        return MetricRecord(source=source, ts_ms=ts_ms, metrics=metrics, labels=labels)

    def quarantine_raw(self, candidate: Candidate) -> bytes:
        """Serialise a candidate for quarantine, with personal fields already scrubbed."""
        document: dict[str, Any] = {}
        for name, value in (
            ("ts", candidate.ts),
            ("source", candidate.source),
            ("metrics", candidate.metrics),
            ("labels", candidate.labels),
        ):
            if value is not MISSING and value is not None:
                document[name] = value
        if isinstance(document.get("labels"), dict):
            document["labels"] = self._scrubber.scrub(document["labels"])
        if candidate.extra:
            document.update(self._scrubber.scrub(candidate.extra))
        try:
            return json.dumps(document, default=repr, ensure_ascii=False).encode(
                "utf-8", "backslashreplace"
            )
        except (RecursionError, ValueError):
            return repr(document)[:65536].encode("utf-8", "backslashreplace")

    def _source(self, value: Any) -> str:
        if value is MISSING:
            raise _Reject(R.MISSING_FIELD, "the record has no 'source' (and its topic names none)")
        if not isinstance(value, str):
            raise _Reject(R.BAD_SOURCE, f"'source' must be a string, got {_kind(value)}")
        if not self._source_re.fullmatch(value):
            raise _Reject(
                R.BAD_SOURCE,
                f"source {value[:80]!r} does not match the schema's source pattern",
            )
        return value

    def _timestamp(self, value: Any, now: float) -> int:
        if value is MISSING:
            raise _Reject(R.MISSING_FIELD, "the record has no 'ts'")
        seconds = _epoch_seconds(value)
        if seconds < now - self._max_past_s or seconds > now + self._max_future_s:
            delta = seconds - now
            when = f"{-delta:.0f} s in the past" if delta < 0 else f"{delta:.0f} s in the future"
            raise _Reject(
                R.TIMESTAMP_OUT_OF_RANGE,
                f"timestamp is {when}; accepted: up to {self._max_past_s} s past and "
                f"{self._max_future_s} s future (epoch seconds expected, not milliseconds)",
            )
        return round(seconds * 1000)

    def _metrics(self, value: Any) -> dict[str, float]:
        if value is MISSING:
            raise _Reject(R.MISSING_FIELD, "the record has no 'metrics'")
        if not isinstance(value, dict) or not value:
            raise _Reject(R.BAD_METRICS, "'metrics' must be a non-empty object of name: number")
        metrics: dict[str, float] = {}
        for name, number in value.items():
            canonical = self._names.get(name)
            if canonical is None:
                if not self._accept_unknown:
                    raise _Reject(R.UNKNOWN_METRIC, f"metric {name[:80]!r} is not in the schema")
                canonical = name
            if canonical in metrics:
                raise _Reject(R.BAD_METRICS, f"metric {canonical!r} is given twice (via {name!r})")
            metrics[canonical] = self._metric_value(canonical, number)
        missing = self._required.difference(metrics)
        if missing:
            raise _Reject(
                R.MISSING_REQUIRED_METRIC, f"required metrics missing: {', '.join(sorted(missing))}"
            )
        return metrics

    def _metric_value(self, name: str, value: Any) -> float:
        if isinstance(value, NonFinite):
            raise _Reject(R.NON_FINITE_VALUE, f"metric {name!r} is {value} (not a finite number)")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Reject(R.WRONG_TYPE, f"metric {name!r} must be a number, got {_kind(value)}")
        try:
            number = float(value)
        except OverflowError:
            raise _Reject(R.NUMBER_TOO_LARGE, f"metric {name!r} does not fit a double") from None
        if math.isinf(number):
            raise _Reject(R.NUMBER_TOO_LARGE, f"metric {name!r} does not fit a double")
        if math.isnan(number):
            raise _Reject(R.NON_FINITE_VALUE, f"metric {name!r} is nan (not a finite number)")
        spec = self._specs.get(name)
        if spec is None:
            return number
        if spec.type == "int":
            if not number.is_integer():
                raise _Reject(R.WRONG_TYPE, f"metric {name!r} must be an integer, got {number}")
            number = int(number)
        if (spec.min is not None and number < spec.min) or (
            spec.max is not None and number > spec.max
        ):
            raise _Reject(
                R.OUT_OF_RANGE, f"metric {name!r} = {number} is outside [{spec.min}, {spec.max}]"
            )
        return number

    def _labels(self, labels: Any, extra: dict[str, Any] | None) -> dict[str, str]:
        if labels is None or labels is MISSING:
            fields: dict[str, Any] = {}
        elif isinstance(labels, dict):
            fields = dict(labels)
        else:
            raise _Reject(R.BAD_LABELS, f"'labels' must be an object, got {_kind(labels)}")
        if extra:
            fields.update(extra)
        if not fields:
            return {}
        if len(fields) > self._max_labels:
            raise _Reject(R.BAD_LABELS, f"{len(fields)} labels; at most {self._max_labels}")
        result: dict[str, str] = {}
        for name, value in self._scrubber.scrub(fields).items():
            if not isinstance(value, _SCALARS) or isinstance(value, NonFinite):
                raise _Reject(R.BAD_LABELS, f"label {name[:80]!r} must be a scalar")
            text = value if isinstance(value, str) else json.dumps(value)
            if len(text) > self._max_label_len or len(name) > self._max_label_len:
                raise _Reject(R.BAD_LABELS, f"label {name[:80]!r} is too long")
            result[name] = text
        return result


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, bool | NonFinite):
        raise _Reject(R.BAD_TIMESTAMP, f"'ts' must be ISO-8601 or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if not math.isfinite(seconds):
            raise _Reject(R.BAD_TIMESTAMP, "'ts' is not a finite number")
        return seconds
    if isinstance(value, str):
        if len(value) > MAX_TS_TEXT:
            raise _Reject(R.BAD_TIMESTAMP, "'ts' text is too long for a timestamp")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Reject(R.BAD_TIMESTAMP, f"'ts' {value!r} is not ISO-8601") from None
        if parsed.tzinfo is None:
            raise _Reject(R.BAD_TIMESTAMP, f"'ts' {value!r} has no UTC offset; add 'Z' or '+hh:mm'")
        return parsed.timestamp()
    raise _Reject(R.BAD_TIMESTAMP, f"'ts' must be ISO-8601 or epoch seconds, got {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
