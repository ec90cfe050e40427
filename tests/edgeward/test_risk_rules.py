"""The guardrail table, row by row: each rule fires on its case and not on a calm one."""

from __future__ import annotations

from typing import Any

import pytest

from edgeward.risk import Action, Decision, parse_decision
from edgeward.risk.rules import BASE_LEVEL, RULES, RecentAction, apply_rules


def decision(action: str = "sleep_cell", **context: Any) -> Decision:
    extra = {k: context.pop(k) for k in ("confidence", "target") if k in context}
    return parse_decision(
        {
            "action": action,
            "target": extra.get("target", "cell-1"),
            "confidence": extra.get("confidence", 0.9),
            "summary": f"{action} for a test",
            "context": context,
        }
    )


CALM: dict[str, Any] = {"hour": 3, "peak_hour": False, "users_affected": 2}

# rule name -> (a decision it must fire on, the level it then gives)
FIRING: dict[str, tuple[Decision, str]] = {
    "protected_target": (decision("block_source", protected_target=True, **CALM), "critical"),
    "irreversible_at_peak": (decision("restart_node", peak_hour=True), "critical"),
    "irreversible": (decision("restart_node", **CALM), "high"),
    "blast_radius_large": (decision("offload_traffic", users_affected=5000), "high"),
    "blast_radius_medium": (decision("offload_traffic", users_affected=150), "medium"),
    "service_cut_at_peak": (decision("sleep_cell", peak_hour=True), "high"),
    "disruptive_at_peak": (decision("offload_traffic", peak_hour=True), "medium"),
    "low_confidence": (decision("sleep_cell", confidence=0.3, **CALM), "high"),
    "action_burst": (decision("sleep_cell", recent_similar=6), "high"),
    "action_repeated": (decision("raise_alarm", recent_similar=3), "medium"),
    "no_fallback_coverage": (
        parse_decision(
            {
                "action": "sleep_cell",
                "parameters": {"neighbour_coverage": False},
                "summary": "sleep the only cell",
                "context": CALM,
            }
        ),
        "critical",
    ),
    "pipeline_flapping": (decision("rollback_model", recent_similar=4), "high"),
    "promotion_without_canary": (
        parse_decision(
            {
                "action": "promote_model",
                "parameters": {"wave": "all"},
                "summary": "promote to all",
                "context": {"sites_evaluated": 50},
            }
        ),
        "high",
    ),
    "promotion_on_few_sites": (decision("promote_model", sites_evaluated=1), "high"),
    "promotion_on_quarantined_data": (
        decision("promote_model", sites_evaluated=10, quarantine_rate=0.4),
        "high",
    ),
    "promotion_on_narrow_win": (
        decision("promote_model", sites_evaluated=10, confidence=0.3),
        "high",
    ),
}


def test_every_rule_has_a_firing_case() -> None:
    assert {rule.name for rule in RULES} == {*FIRING, "conflicting_action"}


@pytest.mark.parametrize("name", sorted(FIRING))
def test_each_rule_fires_on_its_case_with_its_level(name: str) -> None:
    case, level = FIRING[name]
    verdict = apply_rules(case)
    assert name in verdict.matched
    assert verdict.level == level or verdict.level == "critical"
    rule = next(rule for rule in RULES if rule.name == name)
    assert rule.reason in verdict.reasons


@pytest.mark.parametrize("action", list(Action))
def test_a_calm_decision_gets_its_base_level_and_says_why(action: Action) -> None:
    context = {**CALM, "sites_evaluated": 10, "quarantine_rate": 0.0}
    verdict = apply_rules(decision(action.value, **context))
    expected = BASE_LEVEL[action]
    if action is Action.RESTART_NODE:
        assert verdict.matched == ("irreversible",)
    else:
        assert verdict.matched == ()
        assert verdict.reasons == (
            f"{action.value.replace('_', ' ')} is {expected} risk on its own",
        )
    assert verdict.level == expected


def test_protected_targets_are_hard_blocked_but_an_alarm_about_them_is_not() -> None:
    assert apply_rules(decision("sleep_cell", protected_target=True)).hard_block
    alarm = apply_rules(decision("raise_alarm", protected_target=True, **CALM))
    assert (alarm.level, alarm.hard_block) == ("low", False)


def test_conflicts_need_the_same_target() -> None:
    sleep = decision("sleep_cell", target="cell-7", **CALM)
    same = [RecentAction(action=Action.OFFLOAD_TRAFFIC, target="cell-7")]
    other = [RecentAction(action=Action.OFFLOAD_TRAFFIC, target="cell-8")]
    assert apply_rules(sleep, same).level == "high"
    assert "conflicting_action" in apply_rules(sleep, same).matched
    assert apply_rules(sleep, other).level == "low"


def test_the_strictest_matching_rule_wins() -> None:
    verdict = apply_rules(decision("offload_traffic", peak_hour=True, users_affected=4000))
    assert {"disruptive_at_peak", "blast_radius_large", "blast_radius_medium"} <= set(
        verdict.matched
    )
    assert verdict.level == "high"
