"""Decode MQTT JSON payloads (one record or a batch array) into candidates, safely.

Format: `{"ts": ISO-8601 or epoch seconds, "source": str, "metrics": {name: number},
"labels": {...}}`, or a JSON array of such objects. Any other top-level field becomes a label
(after PII scrubbing). Nothing here raises on bad bytes: each failure is a `Rejection`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edge_agent.governance.validator import NonFinite
from edgeward.records import MISSING, Candidate, QuarantineReason, Rejection

R = QuarantineReason
_FIELDS = frozenset(("ts", "source", "metrics", "labels"))


@dataclass(kw_only=True, slots=True, frozen=True)
class PayloadLimits:
    """Bounds on what one message may hold."""

    max_bytes: int = 64 * 1024
    max_batch: int = 10_000


def _non_finite(literal: str) -> NonFinite:
    return NonFinite(literal)


# Built once: `json.loads` with a hook would build a new decoder for every message.
_DECODER = json.JSONDecoder(parse_constant=_non_finite)


def decode_json_payload(
    payload: bytes,
    *,
    origin: str,
    limits: PayloadLimits,
    fallback_source: str | None = None,
) -> list[Candidate | Rejection]:
    """Turn one message into candidates to validate, or rejections to quarantine.

    `fallback_source` (the topic's source segment) is used when a record carries no source.
    """
    if len(payload) > limits.max_bytes:
        return [
            _reject(
                origin,
                payload,
                R.PAYLOAD_TOO_LARGE,
                f"{len(payload)} bytes; the limit is {limits.max_bytes}",
            )
        ]
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return [_reject(origin, payload, R.INVALID_UTF8, f"not UTF-8 at byte {err.start}")]
    try:
        document = _DECODER.decode(text)
    except RecursionError:
        return [_reject(origin, payload, R.TOO_DEEP, "nested too deeply to parse")]
    except json.JSONDecodeError as err:
        return [
            _reject(
                origin,
                payload,
                R.INVALID_JSON,
                f"{err.msg} at line {err.lineno} column {err.colno}",
            )
        ]
    except ValueError as err:  # an integer literal longer than Python will convert
        return [_reject(origin, payload, R.NUMBER_TOO_LARGE, str(err)[:200])]
    if isinstance(document, dict):
        return [_candidate(document, origin, fallback_source)]
    if not isinstance(document, list):
        return [
            _reject(
                origin,
                payload,
                R.NOT_AN_OBJECT,
                "the payload must be a JSON object or an array of objects",
            )
        ]
    if not document:
        return [_reject(origin, payload, R.NOT_AN_OBJECT, "the batch is an empty array")]
    if len(document) > limits.max_batch:
        return [
            _reject(
                origin,
                payload,
                R.BATCH_TOO_LARGE,
                f"{len(document)} records; the limit is {limits.max_batch}",
            )
        ]
    decoded: list[Candidate | Rejection] = []
    for index, element in enumerate(document):
        where = f"{origin}[{index}]"
        if isinstance(element, dict):
            decoded.append(_candidate(element, where, fallback_source))
        else:
            decoded.append(
                _reject(
                    where,
                    _dump(element),
                    R.NOT_AN_OBJECT,
                    f"batch element {index} is not an object",
                )
            )
    return decoded


def _candidate(document: dict[str, Any], origin: str, fallback_source: str | None) -> Candidate:
    source = document.get("source", MISSING)
    if source is MISSING and fallback_source is not None:
        source = fallback_source
    extra = (
        None
        if _FIELDS.issuperset(document)
        else {k: v for k, v in document.items() if k not in _FIELDS}
    )
    return Candidate(
        origin=origin,
        source=source,
        ts=document.get("ts", MISSING),
        metrics=document.get("metrics", MISSING),
        labels=document.get("labels"),
        extra=extra,
    )


def _reject(origin: str, raw: bytes, reason: QuarantineReason, detail: str) -> Rejection:
    return Rejection(origin=origin, raw=raw, reason=reason, detail=detail)


def _dump(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except (RecursionError, ValueError):
        return repr(value)[:65536].encode("utf-8", "backslashreplace")
