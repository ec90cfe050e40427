"""One short sentence telling a person why a decision got its risk level.

With a GGUF that carries a chat template the model is asked through that template; a base
model (no template) continues a plain prompt instead. Whatever the model says is cut to its
first sentence; if nothing usable comes back, a sentence is built from the level and reasons,
so a person always reads something true.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from edgeward.risk.decision import Decision, RiskLevel
from edgeward.risk.llm.engine import LlamaEngine
from edgeward.risk.llm.features import decision_text

MAX_CHARS: Final = 240
SYSTEM_PROMPT: Final = (
    "You review actions proposed for a mobile network. Reply with one short sentence that "
    "tells an operator why the action has the given risk level."
)
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s")


def rationale_prompt(decision: Decision, level: RiskLevel, reasons: Sequence[str]) -> str:
    """Return the facts and the question the model answers."""
    because = "; ".join(reasons) if reasons else "no rule fired"
    return (
        f"{decision_text(decision)}\nRisk level: {level}. Rule findings: {because}.\n"
        "Why this risk level, in one sentence:"
    )


def write_rationale(
    engine: LlamaEngine,
    decision: Decision,
    level: RiskLevel,
    reasons: Sequence[str],
    *,
    max_tokens: int = 40,
) -> str:
    """Return one short sentence explaining `level` for `decision`."""
    prompt = rationale_prompt(decision, level, reasons)
    if engine.has_chat_template:
        raw = engine.chat(SYSTEM_PROMPT, prompt, max_tokens=max_tokens)
    else:
        raw = engine.complete(prompt, max_tokens=max_tokens, stop=["\n\n", "\nRisk level"])
    return first_sentence(raw) or fallback_rationale(decision, level, reasons)


def first_sentence(text: str) -> str:
    """Return the first sentence of `text`, whitespace collapsed and capped in length."""
    collapsed = " ".join(text.replace("*", "").split())
    sentence = _SENTENCE_END.split(collapsed, maxsplit=1)[0].strip(" \"'")
    if len(sentence) > MAX_CHARS:
        sentence = sentence[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return sentence if len(sentence) >= 8 else ""


def fallback_rationale(decision: Decision, level: RiskLevel, reasons: Sequence[str]) -> str:
    """Return a plain sentence built from the level and the rules' reasons."""
    action = decision.action.value.replace("_", " ")
    if reasons:
        return f"Rated {level} risk: {'; '.join(reasons)}."
    return f"Rated {level} risk for this {action} decision."
