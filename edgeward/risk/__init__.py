"""Risk screening of decisions: the catalogue, guardrail rules, the LLM layer, the verdict."""

from edgeward.risk.decision import (
    PIPELINE_SITE,
    REVERSIBLE_BY_DEFAULT,
    RISK_LEVELS,
    Action,
    Decision,
    DecisionContext,
    DecisionError,
    RiskLevel,
    max_level,
    parse_decision,
    raise_level,
)

__all__ = [
    "PIPELINE_SITE",
    "REVERSIBLE_BY_DEFAULT",
    "RISK_LEVELS",
    "Action",
    "Decision",
    "DecisionContext",
    "DecisionError",
    "RiskLevel",
    "max_level",
    "parse_decision",
    "raise_level",
]
