"""The timestamps a publishing run gives its readings: the wall clock, or simulated time."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

log = logging.getLogger(__name__)

MIN_STEP_S: Final = 0.001  # the agent stores milliseconds: closer readings would collide
FUTURE_WARNING_S: Final = 300.0  # the bundled schema refuses readings further ahead than this


class Timeline:
    """Hand out the timestamps of successive rounds of `batch` steps, in milliseconds.

    Without `step_s`, a round's last step is the wall clock when the round is asked for and
    earlier steps are spaced back from it by `real_step_s` (the real time between steps at
    the target rate). With `step_s`, steps are `step_s` apart from `start_ts`. Timestamps are
    rounded to the millisecond and always at least one millisecond apart.
    """

    def __init__(
        self,
        *,
        batch: int,
        clock: Callable[[], float],
        real_step_s: float,
        step_s: float | None = None,
        start_ts: float | None = None,
    ) -> None:
        self._batch = batch
        self._clock = clock
        self._real_step_s = real_step_s
        self._step_s = step_s
        self._next = start_ts if start_ts is not None else clock()
        self._last = -math.inf
        self._warned = False

    def next_round(self) -> list[float]:
        """Return the timestamps of the next `batch` steps."""
        if self._step_s is None:
            now = self._clock()
            times = [now - (self._batch - 1 - j) * self._real_step_s for j in range(self._batch)]
        else:
            times = [self._next + j * self._step_s for j in range(self._batch)]
            self._next += self._batch * self._step_s
            self._warn_if_ahead(times[-1])
        rounded = []
        for ts in times:
            self._last = max(round(ts, 3), round(self._last + MIN_STEP_S, 3))
            rounded.append(self._last)
        return rounded

    def _warn_if_ahead(self, ts: float) -> None:
        if not self._warned and ts > self._clock() + FUTURE_WARNING_S:
            self._warned = True
            log.warning(
                "simulated time is now ahead of the clock; the agent will refuse readings "
                "more than %.0f s in the future",
                FUTURE_WARNING_S,
            )
