"""Counters and handling-time percentiles of the ZeroMQ server, for benchmarks and status."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass


@dataclass(kw_only=True, slots=True, frozen=True)
class ServerStats:
    """A snapshot of what the server has done since it started.

    `handled` counts messages dispatched to a handler; `errors` messages answered with an
    `ErrorReply` (undecodable, unsupported, site mismatch, failing handler);
    `dropped_unadmitted` messages from keys no longer admitted. Handling times cover decode,
    handler and reply, over the last `window` messages.
    """

    received: int
    handled: int
    replied: int
    errors: int
    site_mismatches: int
    dropped_unadmitted: int
    pushed: int
    push_failures: int
    handling_p50_ms: float
    handling_p99_ms: float
    handling_max_ms: float
    window: int


class ServerCounters:
    """Thread-safe counters plus a sliding window of handling times."""

    def __init__(self, *, window: int = 8192) -> None:
        self._counts: Counter[str] = Counter()
        self._durations: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        """Add `amount` to the counter `name`."""
        with self._lock:
            self._counts[name] += amount

    def record_handling(self, seconds: float) -> None:
        """Record how long one message took from receipt to reply."""
        with self._lock:
            self._durations.append(seconds)

    def snapshot(self) -> ServerStats:
        """Return the counters and percentiles as they are now."""
        with self._lock:
            counts = dict(self._counts)
            durations = sorted(self._durations)
        return ServerStats(
            received=counts.get("received", 0),
            handled=counts.get("handled", 0),
            replied=counts.get("replied", 0),
            errors=counts.get("errors", 0),
            site_mismatches=counts.get("site_mismatches", 0),
            dropped_unadmitted=counts.get("dropped_unadmitted", 0),
            pushed=counts.get("pushed", 0),
            push_failures=counts.get("push_failures", 0),
            handling_p50_ms=_percentile(durations, 0.50) * 1000,
            handling_p99_ms=_percentile(durations, 0.99) * 1000,
            handling_max_ms=(durations[-1] if durations else 0.0) * 1000,
            window=len(durations),
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]
