"""Jittered exponential backoff for reconnecting daemons."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from `minimum` up to `maximum`, each randomised by up to half.

    The jitter keeps a fleet of agents that lost the same broker from reconnecting in step.
    """

    def __init__(self, minimum: float, maximum: float, *, rng: random.Random | None = None) -> None:
        self._minimum = minimum
        self._maximum = maximum
        self._current = minimum
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next_delay(self) -> float:
        """Return the next delay in seconds and grow the one after it."""
        delay = self._current * (0.5 + 0.5 * self._rng.random())
        self._current = min(self._current * 2, self._maximum)
        return delay

    def reset(self) -> None:
        """Start again from the minimum (after a success)."""
        self._current = self._minimum
