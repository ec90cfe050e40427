"""Screen a decision in layers and combine them conservatively: the strictest level wins.

1. Guardrail rules (`edgeward.risk.rules`), always.
2. The LLM layer, when one is loaded: run off the caller's thread with a time limit, so a slow
   or stuck model never stalls the decision path. Its verdicts are cached by the decision's
   signature (repeated decisions do not pay twice). When it is unavailable or late the rules'
   verdict stands, raised by one level for actions that cannot be undone (fail safe).
3. People: the outcome says whether the decision runs, runs and notifies, waits for a human
   or is blocked.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

from edgeward.risk.decision import Decision, RiskLevel, max_level, raise_level
from edgeward.risk.rules import RecentAction, apply_rules

DEFAULT_LLM_TIMEOUT_S: Final = 2.0
DEFAULT_CACHE_SIZE: Final = 1024


class Outcome(StrEnum):
    """What happens to a screened decision."""

    RUN = "run"
    RUN_AND_NOTIFY = "run_and_notify"
    HOLD = "hold"
    BLOCK = "block"


OUTCOME_BY_LEVEL: Final[dict[RiskLevel, Outcome]] = {
    "low": Outcome.RUN,
    "medium": Outcome.RUN_AND_NOTIFY,
    "high": Outcome.HOLD,
    "critical": Outcome.BLOCK,
}


class LlmAssessment(Protocol):
    """What the LLM layer returns for a decision."""

    @property
    def level(self) -> RiskLevel:
        """Return the level the model gives the decision."""

    @property
    def probabilities(self) -> Mapping[RiskLevel, float]:
        """Return the model's probability of each level (they sum to 1)."""


class LlmJudge(Protocol):
    """The LLM layer as screening sees it."""

    def assess(self, decision: Decision) -> LlmAssessment:
        """Return the model's level for `decision` (may be slow; may raise)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerVerdict:
    """One layer's say: its level (None when it had none), reasons and time taken."""

    layer: str
    level: RiskLevel | None
    reasons: tuple[str, ...] = ()
    latency_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as plain JSON."""
        return {
            "layer": self.layer,
            "level": self.level,
            "reasons": list(self.reasons),
            "latency_s": round(self.latency_s, 4),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Screening:
    """The combined verdict on one decision."""

    decision_id: str
    level: RiskLevel
    outcome: Outcome
    layers: tuple[LayerVerdict, ...]
    hard_block: bool = False
    rationale: str = ""
    latency_s: float = 0.0

    def layer(self, name: str) -> LayerVerdict | None:
        """Return the named layer's verdict, if it ran."""
        return next((layer for layer in self.layers if layer.layer == name), None)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Return every layer's reasons, rules first."""
        return tuple(reason for layer in self.layers for reason in layer.reasons)

    def to_dict(self) -> dict[str, Any]:
        """Return the screening as plain JSON (reports, the batch CLI)."""
        return {
            "decision_id": self.decision_id,
            "level": self.level,
            "outcome": self.outcome.value,
            "hard_block": self.hard_block,
            "layers": [layer.to_dict() for layer in self.layers],
            "reasons": list(self.reasons),
            "rationale": self.rationale,
            "latency_s": round(self.latency_s, 4),
        }


@dataclass(kw_only=True)
class RiskScreener:
    """Screen decisions with the rules and, when given, an LLM judge."""

    llm: LlmJudge | None = None
    llm_timeout_s: float = DEFAULT_LLM_TIMEOUT_S
    cache_size: int = DEFAULT_CACHE_SIZE
    _cache: OrderedDict[str, RiskLevel] = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _pool: concurrent.futures.ThreadPoolExecutor | None = field(default=None, init=False)

    def screen(self, decision: Decision, recent: Sequence[RecentAction] = ()) -> Screening:
        """Return the combined verdict on `decision` given what ran recently."""
        started = time.perf_counter()
        rules = apply_rules(decision, recent)
        rules_layer = LayerVerdict(
            layer="rules",
            level=rules.level,
            reasons=rules.reasons,
            latency_s=time.perf_counter() - started,
        )
        llm_layer = self._llm_layer(decision)
        level = rules.level
        if rules.hard_block:
            level = "critical"
        elif llm_layer.level is not None:
            level = max_level(rules.level, llm_layer.level)
        elif not decision.reversible:
            level = raise_level(rules.level)  # fail safe: no second opinion on the irreversible
        return Screening(
            decision_id=decision.id,
            level=level,
            outcome=OUTCOME_BY_LEVEL[level],
            layers=(rules_layer, llm_layer),
            hard_block=rules.hard_block,
            latency_s=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Stop the LLM worker thread (a call still running finishes on its own)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _llm_layer(self, decision: Decision) -> LayerVerdict:
        if self.llm is None:
            return LayerVerdict(layer="llm", level=None, reasons=("no LLM loaded",))
        key = decision.signature()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return LayerVerdict(layer="llm", level=cached, reasons=("cached verdict",))
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "risk-llm")
            pool = self._pool
        started = time.perf_counter()
        future = pool.submit(self.llm.assess, decision)
        # A late answer still lands in the cache, for the next decision like this one.
        future.add_done_callback(lambda done: self._remember(key, done))
        try:
            assessment = future.result(timeout=self.llm_timeout_s)
        except concurrent.futures.TimeoutError:
            return LayerVerdict(
                layer="llm",
                level=None,
                reasons=(f"the LLM did not answer within {self.llm_timeout_s:g} s",),
                latency_s=time.perf_counter() - started,
            )
        except Exception as err:
            return LayerVerdict(
                layer="llm",
                level=None,
                reasons=(f"the LLM failed: {err}",),
                latency_s=time.perf_counter() - started,
            )
        level = assessment.level
        # The level's probability is the layer's reason: a person weighs a 0.95 and a 0.4
        # differently, and the head has nothing more to say than that.
        confidence = assessment.probabilities.get(level)
        reasons = () if confidence is None else (f"the model rates it {level} ({confidence:.0%})",)
        return LayerVerdict(
            layer="llm", level=level, reasons=reasons, latency_s=time.perf_counter() - started
        )

    def _remember(self, key: str, done: concurrent.futures.Future[LlmAssessment]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        with self._lock:
            self._cache[key] = done.result().level
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
