"""A clock that moves only when told to."""

from __future__ import annotations


class FakeClock:
    """Callable like `time.time`; `advance` moves it forward."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds
