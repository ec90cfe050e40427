"""A stand-in for the LLM layer: answers a fixed level, optionally slowly or not at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from edgeward.risk import Decision, RiskLevel


@dataclass(frozen=True)
class FixedAssessment:
    """The fake's answer."""

    level: RiskLevel

    @property
    def probabilities(self) -> Mapping[RiskLevel, float]:
        """All of the fake's belief is in its level."""
        return {self.level: 1.0}


@dataclass
class FixedJudge:
    """Answer `level` after `delay_s`; raise `error` instead when it is set; count calls."""

    level: RiskLevel = "low"
    delay_s: float = 0.0
    error: Exception | None = None
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def assess(self, decision: Decision) -> FixedAssessment:
        """Return the fixed level (or fail) after the delay."""
        with self._lock:
            self.calls += 1
        time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return FixedAssessment(self.level)
