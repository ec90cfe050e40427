"""Malformed MQTT payloads for testing ingestion, each with the reason the agent must give.

Each kind is built to fail exactly one check of the agent's JSON decoder and record
validator, in the order they run (size, UTF-8, JSON, shape, then source, timestamp, metrics,
labels), and to pass every earlier one: an out-of-range payload has a valid source, a
timestamp near `now` and known metrics. Every payload carries a fresh nonce, so the agent's
quarantine never folds two of them into one entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from edgeward.records import QuarantineReason
from edgeward.simulator.metrics import METRICS

R = QuarantineReason
# The agent's defaults (`PayloadLimits`, the bundled schema's header); a test checks them.
MAX_PAYLOAD_BYTES: Final = 64 * 1024
MAX_BATCH: Final = 10_000
MAX_PAST_S: Final = 30 * 86400
MAX_FUTURE_S: Final = 300
MAX_LABELS: Final = 32
MAX_LABEL_LENGTH: Final = 256
_RAW: Final = "@@raw-literal@@"  # stands for a JSON literal that json.dumps cannot write


@dataclass(frozen=True, kw_only=True, slots=True)
class BadPayload:
    """One malformed message and the quarantine reason the agent must record for it."""

    kind: str
    payload: bytes
    reason: QuarantineReason


@dataclass(frozen=True, kw_only=True, slots=True)
class _Context:
    rng: np.random.Generator
    now: float
    source: str
    nonce: str

    def pick(self, options: tuple[Any, ...]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def record(self, **fields: Any) -> dict[str, Any]:
        """Return a valid record near `now`, with `fields` replacing or adding entries."""
        document: dict[str, Any] = {
            "ts": round(self.now - float(self.rng.uniform(0.0, 5.0)), 3),
            "source": self.source,
            "metrics": {
                "prb_util_dl": round(float(self.rng.uniform(5, 95)), 3),
                "cpu_pct": round(float(self.rng.uniform(20, 80)), 3),
                "active_users": int(self.rng.integers(0, 400)),
            },
            "labels": {"nonce": self.nonce},
        }
        document.update(fields)
        return document

    def with_metric(self, name: str, literal: str) -> bytes:
        """Return a valid record whose metric `name` is the raw JSON `literal`."""
        document = self.record()
        document["metrics"][name] = _RAW
        return json.dumps(document).replace(f'"{_RAW}"', literal).encode()


def _encode(document: object) -> bytes:
    return json.dumps(document).encode()


def _invalid_utf8(c: _Context) -> bytes:
    if c.rng.random() < 0.5:
        return b"\xff\xfe" + c.rng.bytes(int(c.rng.integers(16, 512))) + c.nonce.encode()
    text = json.dumps(c.record(source="cell-\u0000"))
    return text.encode().replace(b"\\u0000", b"\xc3\x28")  # a truncated 2-byte sequence


def _invalid_json(c: _Context) -> bytes:
    text = json.dumps({"labels": {"nonce": c.nonce}, **c.record()})
    variant = int(c.rng.integers(4))
    if variant == 0:  # cut short: the nonce is kept, the closing brace is not
        cut = int(c.rng.integers(text.index(c.nonce) + len(c.nonce), len(text) - 1))
        return text[:cut].encode()
    if variant == 1:
        return text.replace('"', "'").encode()
    if variant == 2:
        return (text[:-1] + ",}").encode()
    return f"ts={c.now} source={c.source} nonce={c.nonce}".encode()


def _too_deep(c: _Context) -> bytes:
    depth = int(c.rng.integers(3000, 20_000))
    return f'{{"nonce": "{c.nonce}", "metrics": {"[" * depth}{"]" * depth}}}'.encode()


def _payload_too_large(c: _Context) -> bytes:
    padding = "x" * (MAX_PAYLOAD_BYTES + int(c.rng.integers(1, 16_384)))
    return _encode(c.record(labels={"nonce": c.nonce, "padding": padding}))


def _not_an_object(c: _Context) -> bytes:
    number = str(int(c.nonce.replace("-", ""), 16))
    text: str = c.pick((number, f"[{number}]", json.dumps(c.nonce), json.dumps([c.nonce])))
    return text.encode()


def _missing_field(c: _Context) -> bytes:
    document = c.record()
    del document[c.pick(("ts", "metrics"))]  # no 'source' case: the topic would supply it
    return _encode(document)


def _bad_timestamp(c: _Context) -> bytes:
    naive = datetime.fromtimestamp(c.now, UTC).replace(tzinfo=None).isoformat()
    options: tuple[object, ...] = (
        "yesterday",
        naive,
        "2024-13-45T25:61:00Z",
        True,
        None,
        {"epoch": c.now},
        [c.now],
        "x" * 65,
    )
    return _encode(c.record(ts=c.pick(options)))


def _timestamp_out_of_range(c: _Context) -> bytes:
    past = c.now - MAX_PAST_S - float(c.rng.uniform(3600, 365 * 86400))
    future = c.now + MAX_FUTURE_S + float(c.rng.uniform(60, 86400))
    as_iso = datetime.fromtimestamp(future, UTC).isoformat()
    ts = c.pick((round(c.now * 1000), round(past, 3), round(future, 3), as_iso))
    return _encode(c.record(ts=ts))


def _bad_source(c: _Context) -> bytes:
    options: tuple[object, ...] = (
        "cell#7",
        "-cell-7",
        "",
        "c" * 201,
        "cell\n7",
        "cell?7",
        7,
        None,
        ["cell-7"],
    )
    return _encode(c.record(source=c.pick(options)))


def _unknown_metric(c: _Context) -> bytes:
    name = c.pick(("rsrp_dbm", "sinr_db", "PRB_UTIL_DL", "handover_success_pct", "cpu"))
    return c.with_metric(name, f"{float(c.rng.uniform(0, 100)):.3f}")


def _wrong_type(c: _Context) -> bytes:
    name, literal = c.pick(
        (
            ("cpu_pct", '"42.5"'),
            ("latency_ms", "true"),
            ("prb_util_dl", "null"),
            ("packet_loss_pct", "[1, 2]"),
            ("temperature_c", '{"value": 40}'),
            ("active_users", "12.5"),
        )
    )
    return c.with_metric(name, literal)


def _non_finite_value(c: _Context) -> bytes:
    name = c.pick(tuple(metric.name for metric in METRICS))
    return c.with_metric(name, c.pick(("NaN", "Infinity", "-Infinity")))


def _number_too_large(c: _Context) -> bytes:
    digits = "9" * int(c.rng.integers(400, 6000))  # beyond 4300 digits Python refuses to parse
    return c.with_metric(
        c.pick(("dl_throughput_mbps", "latency_ms")), c.pick(("1e400", "-1e400", digits))
    )


def _out_of_range(c: _Context) -> bytes:
    metric = METRICS[int(c.rng.integers(len(METRICS)))]
    span = max(metric.high - metric.low, 1.0)
    if c.rng.random() < 0.5:
        value = metric.high + float(c.rng.uniform(0.01, 1.0)) * span
    else:
        value = metric.low - float(c.rng.uniform(0.01, 1.0)) * span
    literal = str(int(value) + (1 if value > 0 else -1)) if metric.integer else f"{value:.3f}"
    return c.with_metric(metric.name, literal)


def _bad_labels(c: _Context) -> bytes:
    many = {f"label_{i}": str(i) for i in range(MAX_LABELS + 1)} | {"nonce": c.nonce}
    options: tuple[object, ...] = (
        f"nonce={c.nonce}",
        [c.nonce],
        {"nonce": c.nonce, "nested": {"a": 1}},
        {"nonce": c.nonce, "list": [1, 2]},
        many,
        {"nonce": c.nonce, "long": "v" * (MAX_LABEL_LENGTH + 1)},
        {"nonce": c.nonce, "k" * (MAX_LABEL_LENGTH + 1): "v"},
    )
    return _encode(c.record(labels=c.pick(options)))


def _bad_metrics(c: _Context) -> bytes:
    return _encode(c.record(metrics=c.pick(({}, [1, 2], "cpu_pct=50", 50))))


def _batch_too_large(c: _Context) -> bytes:
    return ("[" + "{}," * MAX_BATCH + json.dumps({"nonce": c.nonce}) + "]").encode()


# kind -> (reason the agent must give, builder). Kinds are named after their reason.
BAD_PAYLOAD_KINDS: Final[Mapping[str, tuple[QuarantineReason, Callable[[_Context], bytes]]]] = {
    "invalid_utf8": (R.INVALID_UTF8, _invalid_utf8),
    "invalid_json": (R.INVALID_JSON, _invalid_json),
    "too_deep": (R.TOO_DEEP, _too_deep),
    "payload_too_large": (R.PAYLOAD_TOO_LARGE, _payload_too_large),
    "not_an_object": (R.NOT_AN_OBJECT, _not_an_object),
    "batch_too_large": (R.BATCH_TOO_LARGE, _batch_too_large),
    "missing_field": (R.MISSING_FIELD, _missing_field),
    "bad_timestamp": (R.BAD_TIMESTAMP, _bad_timestamp),
    "timestamp_out_of_range": (R.TIMESTAMP_OUT_OF_RANGE, _timestamp_out_of_range),
    "bad_source": (R.BAD_SOURCE, _bad_source),
    "bad_metrics": (R.BAD_METRICS, _bad_metrics),
    "unknown_metric": (R.UNKNOWN_METRIC, _unknown_metric),
    "wrong_type": (R.WRONG_TYPE, _wrong_type),
    "non_finite_value": (R.NON_FINITE_VALUE, _non_finite_value),
    "number_too_large": (R.NUMBER_TOO_LARGE, _number_too_large),
    "out_of_range": (R.OUT_OF_RANGE, _out_of_range),
    "bad_labels": (R.BAD_LABELS, _bad_labels),
}
BAD_PAYLOAD_KIND_NAMES: Final = tuple(BAD_PAYLOAD_KINDS)


class BadPayloadFactory:
    """Make unique bad payloads of any kind, reproducibly for a generator's seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._count = 0

    def make(self, kind: str, *, now: float, source: str) -> BadPayload:
        """Return a bad payload of `kind` for `source`, timed around `now` (epoch seconds)."""
        try:
            reason, build = BAD_PAYLOAD_KINDS[kind]
        except KeyError:
            raise ValueError(f"unknown bad payload kind {kind!r}") from None
        self._count += 1
        nonce = f"{int(self._rng.integers(2**62)):016x}-{self._count:x}"
        context = _Context(rng=self._rng, now=now, source=source, nonce=nonce)
        return BadPayload(kind=kind, payload=build(context), reason=reason)

    def random(self, *, now: float, source: str) -> BadPayload:
        """Return a bad payload of a kind chosen at random."""
        kind = BAD_PAYLOAD_KIND_NAMES[int(self._rng.integers(len(BAD_PAYLOAD_KIND_NAMES)))]
        return self.make(kind, now=now, source=source)
