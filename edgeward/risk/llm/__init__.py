"""The on-device LLM layer of risk screening (llama.cpp): assess, explain, tune, evaluate.

Typical use::

    screener = LlmScreener.load(load_llm_settings())   # raises LlmHeadMissing if untuned
    verdict = screener.assess(decision)                 # LlmVerdict(level, probabilities, ...)
    sentence = screener.rationale(decision, verdict.level, reasons)

See docs/risk-llm.md for how the approach was chosen and what it measures.
"""

from edgeward.risk.llm.errors import (
    LlmError,
    LlmHeadInvalid,
    LlmHeadMissing,
    ModelFileMissing,
    ModelLoadFailed,
    TuningDataError,
)
from edgeward.risk.llm.evaluation import ensure_head, evaluate
from edgeward.risk.llm.head import ROUTES, HeadConfig, Route
from edgeward.risk.llm.model_file import ModelIdentity, identify_model, resolve_model_path
from edgeward.risk.llm.screener import LlmScreener, LlmVerdict, load_tuned_head
from edgeward.risk.llm.settings import LlmSettings, default_cache_dir, load_llm_settings
from edgeward.risk.llm.tuning import TuneReport, head_path, tune

__all__ = [
    "ROUTES",
    "HeadConfig",
    "LlmError",
    "LlmHeadInvalid",
    "LlmHeadMissing",
    "LlmScreener",
    "LlmSettings",
    "LlmVerdict",
    "ModelFileMissing",
    "ModelIdentity",
    "ModelLoadFailed",
    "Route",
    "TuneReport",
    "TuningDataError",
    "default_cache_dir",
    "ensure_head",
    "evaluate",
    "head_path",
    "identify_model",
    "load_llm_settings",
    "load_tuned_head",
    "resolve_model_path",
    "tune",
]
