"""The LLM layer of risk screening: a level with probabilities for each decision, on device.

`LlmScreener.load` resolves the model file, finds the head tuned for it (raising
`LlmHeadMissing`, which tells the user to run `edgeward risk tune`, when there is none) and
loads the model. `assess` embeds a text rendering of the decision with the model, joins it to
the decision's structured facts and lets the head pick a level. `rationale` writes one sentence
for decisions a person will read. Both are safe to call from several threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgeward.risk.decision import RISK_LEVELS, Decision, RiskLevel
from edgeward.risk.llm.engine import LlamaEngine
from edgeward.risk.llm.errors import LlmHeadInvalid, LlmHeadMissing
from edgeward.risk.llm.features import decision_text, structured_features
from edgeward.risk.llm.head import RiskHead, load_head
from edgeward.risk.llm.model_file import ModelIdentity, identify_model, resolve_model_path
from edgeward.risk.llm.rationale import write_rationale
from edgeward.risk.llm.settings import LlmSettings
from edgeward.risk.llm.tuning import head_path


@dataclass(frozen=True, kw_only=True, slots=True)
class LlmVerdict:
    """The LLM layer's level for a decision, its probabilities and the time it took."""

    level: RiskLevel
    probabilities: dict[RiskLevel, float]
    latency_s: float


class LlmScreener:
    """Assess decisions with a llama.cpp model and the head tuned for it."""

    def __init__(
        self,
        *,
        engine: LlamaEngine,
        head: RiskHead,
        model: ModelIdentity,
        rationale_max_tokens: int = 40,
    ) -> None:
        self.engine = engine
        self.head = head
        self.model = model
        self.rationale_max_tokens = rationale_max_tokens

    @classmethod
    def load(cls, settings: LlmSettings | None = None) -> LlmScreener:
        """Load the configured model and its tuned head; raise `LlmHeadMissing` if untuned."""
        settings = settings or LlmSettings()
        model = identify_model(resolve_model_path(settings.model_path))
        head = load_tuned_head(settings, model)
        engine = LlamaEngine(
            model.path,
            n_threads=settings.n_threads,
            n_ctx=settings.n_ctx,
            extra_buffers=settings.extra_buffers,
        )
        return cls(
            engine=engine,
            head=head,
            model=model,
            rationale_max_tokens=settings.rationale_max_tokens,
        )

    def assess(self, decision: Decision) -> LlmVerdict:
        """Return the level the model and head give `decision`."""
        started = time.perf_counter()
        embedding = self.engine.embed(decision_text(decision)).astype(np.float64)
        probabilities = self.head.probabilities(
            structured_features(decision)[None, :], embedding[None, :]
        )[0]
        by_level = {level: float(p) for level, p in zip(RISK_LEVELS, probabilities, strict=True)}
        return LlmVerdict(
            level=RISK_LEVELS[int(np.argmax(probabilities))],
            probabilities=by_level,
            latency_s=time.perf_counter() - started,
        )

    def rationale(self, decision: Decision, level: RiskLevel, reasons: Sequence[str]) -> str:
        """Return one short sentence explaining `level` (for decisions a person will read)."""
        return write_rationale(
            self.engine, decision, level, reasons, max_tokens=self.rationale_max_tokens
        )


def load_tuned_head(settings: LlmSettings, model: ModelIdentity) -> RiskHead:
    """Return the head tuned for `model`; raise `LlmHeadMissing` when there is none."""
    path = head_path(settings.cache_dir, model)
    if not path.exists():
        raise LlmHeadMissing(
            f"no tuned risk head for model {model.path.name} in {settings.cache_dir}; "
            f"run `edgeward risk tune --model {model.path}` first"
        )
    head = load_head(path)
    if head.model_key != model.key:
        raise LlmHeadInvalid(
            f"the head at {path} belongs to another model; run `edgeward risk tune` again"
        )
    return head
