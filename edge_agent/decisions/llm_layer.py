"""Load the on-device LLM layer for screening, or say why it is not there (rules alone).

Any failure to load (no tuned head yet, a missing GGUF, llama.cpp refusing the file) leaves
the agent screening with the rules, which then fail safe (see `edgeward.risk.screening`);
the log says what to do about it.
"""

from __future__ import annotations

import logging

from edge_agent.settings import DecisionsSettings
from edgeward.errors import EdgewardError
from edgeward.risk.screening import LlmJudge

log = logging.getLogger(__name__)


def load_llm_judge(settings: DecisionsSettings) -> LlmJudge | None:
    """Return the LLM judge the settings ask for, or None (with a warning) if it cannot load."""
    try:
        # Imported here: llama.cpp loads only on agents that screen with it.
        from edgeward.risk.llm import LlmScreener, load_llm_settings

        flags = {"model_path": settings.llm_model} if settings.llm_model else None
        return LlmScreener.load(load_llm_settings(flags=flags))
    except (EdgewardError, ImportError) as err:
        log.warning("screening with the rules alone: the LLM layer is unavailable (%s)", err)
        return None
