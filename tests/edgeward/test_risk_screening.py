"""Combining the layers: strictest wins, rules can hard-block, a late LLM fails safe, cache."""

from __future__ import annotations

from typing import Any

import pytest

from edgeward.risk import Decision, parse_decision
from edgeward.risk.screening import Outcome, RiskScreener
from tests.fakes.llm_judge import FixedJudge


def decision(action: str = "sleep_cell", **context: Any) -> Decision:
    return parse_decision(
        {"action": action, "target": "cell-1", "summary": "test", "context": context}
    )


QUIET = {"hour": 3, "peak_hour": False, "users_affected": 2}


@pytest.mark.parametrize(
    ("rules_case", "llm_level", "final"),
    [
        ({}, "low", "low"),
        ({}, "high", "high"),
        ({"peak_hour": True}, "low", "high"),  # rules say high, the LLM low: high
        ({"peak_hour": True}, "critical", "critical"),
    ],
)
def test_the_strictest_layer_wins(
    rules_case: dict[str, object], llm_level: str, final: str
) -> None:
    screener = RiskScreener(llm=FixedJudge(level=llm_level))
    screening = screener.screen(decision(**{**QUIET, **rules_case}))
    assert screening.level == final
    assert [layer.layer for layer in screening.layers] == ["rules", "llm"]


def test_outcomes_follow_the_level() -> None:
    screener = RiskScreener()
    outcomes = {
        level: screener.screen(decision(**case)).outcome
        for level, case in {
            "low": QUIET,
            "medium": {**QUIET, "users_affected": 200},
            "high": {"peak_hour": True},
            "critical": {"protected_target": True},
        }.items()
    }
    assert outcomes == {
        "low": Outcome.RUN,
        "medium": Outcome.RUN_AND_NOTIFY,
        "high": Outcome.HOLD,
        "critical": Outcome.BLOCK,
    }


def test_a_hard_block_is_not_softened_by_the_llm() -> None:
    screener = RiskScreener(llm=FixedJudge(level="low"))
    screening = screener.screen(decision(protected_target=True))
    assert (screening.level, screening.hard_block) == ("critical", True)


def test_a_late_llm_leaves_the_rules_verdict_raised_for_irreversible_actions() -> None:
    screener = RiskScreener(llm=FixedJudge(level="low", delay_s=0.5), llm_timeout_s=0.05)
    try:
        restart = screener.screen(decision("restart_node", **QUIET))
        sleep = screener.screen(decision("sleep_cell", **QUIET))
    finally:
        screener.close()
    llm = restart.layer("llm")
    assert llm is not None
    assert llm.level is None
    assert "did not answer within 0.05 s" in llm.reasons[0]
    assert restart.level == "critical", "irreversible: high from the rules, raised one level"
    assert sleep.level == "low", "reversible: the rules' verdict stands"


def test_a_failing_llm_is_no_opinion() -> None:
    screener = RiskScreener(llm=FixedJudge(error=RuntimeError("model file gone")))
    screening = screener.screen(decision(**QUIET))
    llm = screening.layer("llm")
    assert llm is not None
    assert llm.reasons == ("the LLM failed: model file gone",)
    assert screening.level == "low"


def test_repeated_decisions_hit_the_cache() -> None:
    judge = FixedJudge(level="medium")
    screener = RiskScreener(llm=judge)
    first = screener.screen(decision(**QUIET))
    again = screener.screen(decision(**QUIET))
    other = screener.screen(decision(**{**QUIET, "users_affected": 5000}))
    assert judge.calls == 2
    assert first.level == again.level == "medium"
    again_llm = again.layer("llm")
    assert again_llm is not None
    assert again_llm.reasons == ("cached verdict",)
    assert other.level == "high"


def test_the_screening_serialises_every_layer() -> None:
    data = RiskScreener().screen(decision(peak_hour=True)).to_dict()
    assert data["level"] == "high"
    assert data["outcome"] == "hold"
    assert [layer["layer"] for layer in data["layers"]] == ["rules", "llm"]
    assert "it takes service away during a peak hour" in data["reasons"]


def test_the_llm_layer_gives_its_confidence_as_its_reason() -> None:
    screening = RiskScreener(llm=FixedJudge(level="medium")).screen(decision(**QUIET))
    llm = screening.layers[1]
    assert llm.reasons == ("the model rates it medium (100%)",)
    assert "the model rates it medium (100%)" in screening.reasons
