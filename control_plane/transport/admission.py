"""Which site a CURVE key belongs to, asked of the fleet at most once a second per key."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Admit = Callable[[bytes], str | None]
"""Return the site enrolled with this Z85 public key, or None if unknown or revoked.

Called from the ZAP thread and the server's receive thread, so it must be thread-safe.
"""


class AdmissionCache:
    """Remember `admit`'s answer per key for at most `ttl_s`, so revocation takes effect fast.

    A failing `admit` counts as "not admitted" (fail closed) and is logged.
    """

    def __init__(
        self,
        admit: Admit,
        *,
        ttl_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self._admit = admit
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._answers: dict[bytes, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def site_for(self, key: bytes) -> str | None:
        """Return the site `key` is admitted as now (cached up to `ttl_s`), else None."""
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        site = self.ask(key)
        with self._lock:
            if len(self._answers) >= self._max_entries:
                self._answers = {k: a for k, a in self._answers.items() if a[1] > now}
            self._answers[key] = (site, now + self._ttl_s)
        return site

    def ask(self, key: bytes) -> str | None:
        """Ask `admit` directly, bypassing the cache (what a new handshake does)."""
        try:
            return self._admit(key)
        except Exception:
            log.exception("checking whether a key is admitted failed; refusing it for now")
            return None
