"""Background workers that do one thing at an interval until stopped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicWorker:
    """Call `tick()` at start and then every `interval_s` seconds in a daemon thread.

    Waits on a stop event rather than sleeping, so `stop()` returns promptly; an exception in
    one tick is logged and the next tick runs as planned.
    """

    def __init__(self, *, name: str, interval_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Do one round of work (subclasses implement it)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start ticking in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next tick now instead of at the end of the interval."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current tick."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", self.name, self.interval_s)
            self._wake.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
            self._wake.clear()


class Every(PeriodicWorker):
    """A periodic worker whose round of work is a plain function."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        super().__init__(name=name, interval_s=interval_s)
        self._work = work

    def tick(self) -> None:
        """Run the function once."""
        self._work()
