"""Guardrail rules: a table of conditions, each with the level it raises a decision to.

The first layer of screening, and the one that never needs a model: every rule that matches a
decision contributes its level and a reason; the verdict is the strictest level matched (or the
action's base level), and a matched `hard_block` rule makes the decision critical and blocked
whatever the other layers say. Recent actions (for rate limits and conflicts) come from the
caller, who knows what ran lately.

The table is data: add a row to change policy, and `tests/edgeward/test_risk_rules.py` checks
it row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from edgeward.risk.decision import Action, Decision, RiskLevel, max_level

BASE_LEVEL: Final[dict[Action, RiskLevel]] = {
    Action.RAISE_ALARM: "low",
    Action.OFFLOAD_TRAFFIC: "low",
    Action.RATE_LIMIT_SOURCE: "medium",
    Action.SLEEP_CELL: "low",
    Action.BLOCK_SOURCE: "high",
    Action.RESTART_NODE: "high",
    Action.PROMOTE_MODEL: "medium",
    Action.ROLLBACK_MODEL: "low",
}
"""The level of an action on its own, before its context is looked at."""

DISRUPTIVE: Final = frozenset(
    {
        Action.OFFLOAD_TRAFFIC,
        Action.RATE_LIMIT_SOURCE,
        Action.SLEEP_CELL,
        Action.BLOCK_SOURCE,
        Action.RESTART_NODE,
    }
)
"""Actions that change what users of the network get (an alarm only tells people)."""

SERVICE_CUTTING: Final = frozenset({Action.SLEEP_CELL, Action.BLOCK_SOURCE, Action.RESTART_NODE})
"""Disruptive actions that take service away rather than move it."""

PIPELINE: Final = frozenset({Action.PROMOTE_MODEL, Action.ROLLBACK_MODEL})
"""The pipeline's own decisions, screened by the control plane."""

CONFLICTS: Final[dict[Action, frozenset[Action]]] = {
    Action.SLEEP_CELL: frozenset({Action.OFFLOAD_TRAFFIC, Action.RESTART_NODE}),
    Action.OFFLOAD_TRAFFIC: frozenset({Action.SLEEP_CELL}),
    Action.RESTART_NODE: frozenset({Action.SLEEP_CELL, Action.RESTART_NODE}),
    Action.BLOCK_SOURCE: frozenset({Action.RATE_LIMIT_SOURCE}),
    Action.RATE_LIMIT_SOURCE: frozenset({Action.BLOCK_SOURCE}),
    Action.PROMOTE_MODEL: frozenset({Action.ROLLBACK_MODEL}),
    Action.ROLLBACK_MODEL: frozenset({Action.PROMOTE_MODEL}),
}
"""Actions that work against a recent one on the same target (fighting each other)."""

MANY_USERS: Final = 1000
SOME_USERS: Final = 100
LOW_CONFIDENCE: Final = 0.5
BURST: Final = 5
REPEATED: Final = 3
FEW_SITES: Final = 3
HIGH_QUARANTINE: Final = 0.2


@dataclass(frozen=True, kw_only=True, slots=True)
class RecentAction:
    """An action that ran (or was decided) lately, as the rules see it."""

    action: Action
    target: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Situation:
    """A decision with what ran lately; what every rule's condition reads."""

    decision: Decision
    recent: Sequence[RecentAction] = ()

    @property
    def users(self) -> int:
        """Return the users the action affects."""
        return self.decision.context.users_affected

    def conflicting(self) -> list[RecentAction]:
        """Return recent actions on the same target that this decision works against."""
        against = CONFLICTS.get(self.decision.action, frozenset())
        target = self.decision.target
        return [r for r in self.recent if r.action in against and target and r.target == target]


@dataclass(frozen=True, kw_only=True, slots=True)
class GuardrailRule:
    """One row: when `applies`, the decision is at least `level` (blocked if `hard_block`)."""

    name: str
    level: RiskLevel
    applies: Callable[[Situation], bool]
    reason: str
    hard_block: bool = False


def _d(s: Situation) -> Decision:
    return s.decision


RULES: Final[tuple[GuardrailRule, ...]] = (
    GuardrailRule(
        name="protected_target",
        level="critical",
        hard_block=True,
        applies=lambda s: _d(s).action in DISRUPTIVE and _d(s).context.protected_target,
        reason="the target is protected (emergency services or critical infrastructure)",
    ),
    GuardrailRule(
        name="irreversible_at_peak",
        level="critical",
        applies=lambda s: not _d(s).reversible and _d(s).context.peak_hour,
        reason="it cannot be undone and it is a peak hour",
    ),
    GuardrailRule(
        name="irreversible",
        level="high",
        applies=lambda s: not _d(s).reversible,
        reason="it cannot be undone",
    ),
    GuardrailRule(
        name="blast_radius_large",
        level="high",
        applies=lambda s: _d(s).action in DISRUPTIVE and s.users >= MANY_USERS,
        reason=f"it affects {MANY_USERS:,} users or more",
    ),
    GuardrailRule(
        name="blast_radius_medium",
        level="medium",
        applies=lambda s: _d(s).action in DISRUPTIVE and s.users >= SOME_USERS,
        reason=f"it affects {SOME_USERS} users or more",
    ),
    GuardrailRule(
        name="service_cut_at_peak",
        level="high",
        applies=lambda s: _d(s).action in SERVICE_CUTTING and _d(s).context.peak_hour,
        reason="it takes service away during a peak hour",
    ),
    GuardrailRule(
        name="disruptive_at_peak",
        level="medium",
        applies=lambda s: _d(s).action in DISRUPTIVE and _d(s).context.peak_hour,
        reason="it changes service during a peak hour",
    ),
    GuardrailRule(
        name="low_confidence",
        level="high",
        applies=lambda s: _d(s).action in DISRUPTIVE and _d(s).confidence < LOW_CONFIDENCE,
        reason=f"the model is less than {LOW_CONFIDENCE:.0%} confident",
    ),
    GuardrailRule(
        name="action_burst",
        level="high",
        applies=lambda s: _d(s).action in DISRUPTIVE and _d(s).context.recent_similar >= BURST,
        reason=f"{BURST} or more similar actions ran recently (a runaway loop?)",
    ),
    GuardrailRule(
        name="action_repeated",
        level="medium",
        applies=lambda s: _d(s).context.recent_similar >= REPEATED,
        reason=f"{REPEATED} or more similar actions ran recently",
    ),
    GuardrailRule(
        name="conflicting_action",
        level="high",
        applies=lambda s: bool(s.conflicting()),
        reason="it works against an action that recently ran on the same target",
    ),
    GuardrailRule(
        name="no_fallback_coverage",
        level="critical",
        hard_block=True,
        applies=lambda s: (
            _d(s).action in SERVICE_CUTTING and _d(s).parameters.get("neighbour_coverage") is False
        ),
        reason="no neighbouring cell covers the area: nobody there could call for help",
    ),
    GuardrailRule(
        name="pipeline_flapping",
        level="high",
        applies=lambda s: _d(s).action in PIPELINE and _d(s).context.recent_similar >= REPEATED,
        reason=f"{REPEATED} or more promotions or rollbacks ran recently (the pipeline flaps)",
    ),
    GuardrailRule(
        name="promotion_without_canary",
        level="high",
        applies=lambda s: (
            _d(s).action is Action.PROMOTE_MODEL
            and (_d(s).parameters.get("wave") == "all" or _d(s).parameters.get("canary_sites") == 0)
        ),
        reason="it goes to the whole fleet without a canary",
    ),
    GuardrailRule(
        name="promotion_on_few_sites",
        level="high",
        applies=lambda s: (
            _d(s).action is Action.PROMOTE_MODEL
            and (_d(s).context.sites_evaluated or 0) < FEW_SITES
        ),
        reason=f"the challenger was evaluated on fewer than {FEW_SITES} sites",
    ),
    GuardrailRule(
        name="promotion_on_narrow_win",
        level="high",
        applies=lambda s: (
            _d(s).action is Action.PROMOTE_MODEL and _d(s).confidence < LOW_CONFIDENCE
        ),
        reason=f"the challenger won on fewer than {LOW_CONFIDENCE:.0%} of the sites",
    ),
    GuardrailRule(
        name="promotion_on_quarantined_data",
        level="high",
        applies=lambda s: (
            _d(s).action is Action.PROMOTE_MODEL
            and (_d(s).context.quarantine_rate or 0.0) > HIGH_QUARANTINE
        ),
        reason=f"over {HIGH_QUARANTINE:.0%} of its training period's input was quarantined",
    ),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class RulesVerdict:
    """What the guardrail rules say about one decision."""

    level: RiskLevel
    reasons: tuple[str, ...]
    matched: tuple[str, ...]
    hard_block: bool


def apply_rules(
    decision: Decision,
    recent: Sequence[RecentAction] = (),
    rules: Sequence[GuardrailRule] = RULES,
) -> RulesVerdict:
    """Return the strictest level the matching rules give `decision`, with their reasons."""
    situation = Situation(decision=decision, recent=recent)
    base = BASE_LEVEL[decision.action]
    matched = [rule for rule in rules if rule.applies(situation)]
    level = max_level(base, *(rule.level for rule in matched))
    hard_block = any(rule.hard_block for rule in matched)
    reasons = tuple(rule.reason for rule in matched) or (
        f"{decision.action.value.replace('_', ' ')} is {base} risk on its own",
    )
    return RulesVerdict(
        level="critical" if hard_block else level,
        reasons=reasons,
        matched=tuple(rule.name for rule in matched),
        hard_block=hard_block,
    )
