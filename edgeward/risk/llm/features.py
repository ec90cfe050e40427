"""What the risk head sees of a decision: a text for the LLM and a vector of structured facts.

`decision_text` renders a decision as a short English paragraph for the LLM to embed; it names
every fact the context holds, so the embedding can carry them. `structured_features` turns the
same facts into numbers (action one-hot, peak hour, log users, reversibility, ...), in the
order of `STRUCTURED_FEATURE_NAMES`.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from edgeward.risk.decision import Action, Decision

_ACTIONS: Final = tuple(Action)
STRUCTURED_FEATURE_NAMES: Final[tuple[str, ...]] = (
    *(f"action={action.value}" for action in _ACTIONS),
    "peak_hour",
    "night_hour",
    "log1p_users_affected",
    "reversible",
    "protected_target",
    "log1p_recent_similar",
    "confidence",
    "low_confidence",
    "sites_evaluated_known",
    "log1p_sites_evaluated",
    "quarantine_rate_known",
    "quarantine_rate",
    "log1p_parameters",
)


def structured_features(decision: Decision) -> npt.NDArray[np.float64]:
    """Return the decision's structured facts as numbers (see `STRUCTURED_FEATURE_NAMES`)."""
    ctx = decision.context
    one_hot = [float(decision.action is action) for action in _ACTIONS]
    night = ctx.hour is not None and (ctx.hour < 6 or ctx.hour >= 23)
    values = [
        *one_hot,
        float(ctx.peak_hour),
        float(night),
        math.log1p(ctx.users_affected),
        float(decision.reversible),
        float(ctx.protected_target),
        math.log1p(ctx.recent_similar),
        decision.confidence,
        float(decision.confidence < 0.6),
        float(ctx.sites_evaluated is not None),
        math.log1p(ctx.sites_evaluated or 0),
        float(ctx.quarantine_rate is not None),
        ctx.quarantine_rate or 0.0,
        math.log1p(len(decision.parameters)),
    ]
    return np.asarray(values, dtype=np.float64)


def decision_text(decision: Decision) -> str:
    """Return a short English description of the decision for the LLM to read."""
    ctx = decision.context
    facts = [
        f"Proposed network action: {decision.action.value.replace('_', ' ')}"
        + (f" on {decision.target}" if decision.target else "")
        + ".",
        f"Summary: {decision.summary}",
        f"Users affected: {ctx.users_affected}.",
        "During peak hour." if ctx.peak_hour else "Outside peak hour.",
        "It can be undone." if decision.reversible else "It cannot be undone.",
    ]
    if ctx.hour is not None:
        facts.append(f"Local hour: {ctx.hour}.")
    if ctx.protected_target:
        facts.append("The target is protected.")
    if ctx.recent_similar:
        facts.append(f"Similar actions recently: {ctx.recent_similar}.")
    if ctx.sites_evaluated is not None:
        facts.append(f"Sites evaluated: {ctx.sites_evaluated}.")
    if ctx.quarantine_rate is not None:
        facts.append(f"Quarantined data: {ctx.quarantine_rate:.0%}.")
    if decision.parameters:
        facts.append(
            "Parameters: "
            + ", ".join(f"{key}={value}" for key, value in sorted(decision.parameters.items()))
            + "."
        )
    if decision.evidence:
        facts.append(
            "Evidence: "
            + ", ".join(f"{key}={value:g}" for key, value in sorted(decision.evidence.items()))
            + "."
        )
    facts.append(f"Model confidence: {decision.confidence:.0%}.")
    return " ".join(facts)
