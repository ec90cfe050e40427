"""Jittered exponential backoff."""

from __future__ import annotations

import random

from edgeward.backoff import Backoff


def test_delays_double_up_to_the_maximum_with_jitter() -> None:
    backoff = Backoff(1.0, 8.0, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_a_fleet_does_not_retry_in_step() -> None:
    first_retries = {round(Backoff(1.0, 60.0).next_delay(), 3) for _ in range(50)}
    assert len(first_retries) > 40
