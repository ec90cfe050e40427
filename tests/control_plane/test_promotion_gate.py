"""The promotion gate: each rule passes and fails on its own numbers."""

from __future__ import annotations

from typing import Any

import pytest

from control_plane.promotion import GateConfig, evaluate_gate
from control_plane.promotion.gate import sign_test_p_value


def site(challenger: float, champion: float | None, examples: int = 100) -> dict[str, Any]:
    return {"examples": examples, "challenger_mae": challenger, "champion_mae": champion}


def lineage(rows: int = 1000, quarantined: int = 0) -> dict[str, Any]:
    return {"sites": {"a": {"rows": rows, "quarantined": quarantined}}}


def judge(per_site: dict[str, Any], **kw: Any) -> Any:
    return evaluate_gate(
        challenger_version=2,
        champion_version=1,
        metrics={"per_site": per_site},
        lineage=kw.pop("lin", lineage()),
        config=GateConfig(**kw),
        now=0.0,
    )


def rules(report: Any) -> dict[str, bool]:
    return {r.rule: r.passed for r in report.rules}


def test_a_clearly_better_challenger_passes() -> None:
    report = judge({f"s{i}": site(0.09, 0.10) for i in range(5)})
    assert report.passed, report.summary()
    assert report.summary() == "every rule passed"


def test_not_better_enough_on_the_fleet() -> None:
    report = judge({f"s{i}": site(0.0999, 0.10) for i in range(5)}, min_improvement=0.01)
    assert rules(report)["fleet_improvement"] is False
    assert "needs +1.00%" in report.summary()


def test_wins_must_be_many_and_significant() -> None:
    mixed = {
        "a": site(0.05, 0.10),
        "b": site(0.11, 0.10),
        "c": site(0.11, 0.10),
        "d": site(0.099, 0.10),
        "e": site(0.099, 0.10),
    }
    report = judge(mixed, max_site_regression=0.5)
    assert rules(report)["win_share"] is False, "60 % of five sites could be chance (p=0.5)"
    assert "better on 3 of 5 sites (60%, sign test p=0.500)" in report.summary()


def test_significance_one_turns_the_sign_test_off() -> None:
    losing = {f"s{i}": site(0.11, 0.10) for i in range(4)}
    report = judge(losing, min_win_share=0.0, significance=1.0)
    assert rules(report)["win_share"] is True, "p=1.0 is at most 1.0"
    assert rules(judge(losing, min_win_share=0.0, significance=0.99))["win_share"] is False


def test_one_site_much_worse_fails_even_if_the_fleet_improves() -> None:
    sites = {f"s{i}": site(0.05, 0.10) for i in range(5)}
    sites["bad"] = site(0.13, 0.10)
    report = judge(sites)
    assert rules(report)["max_site_regression"] is False
    assert "worst site bad: +30.00%" in report.summary()


def test_mostly_quarantined_training_data_fails() -> None:
    report = judge(
        {f"s{i}": site(0.09, 0.10) for i in range(5)}, lin=lineage(rows=900, quarantined=100)
    )
    assert rules(report)["training_quarantine_rate"] is False


def test_the_first_model_has_nothing_to_beat() -> None:
    report = evaluate_gate(
        challenger_version=1,
        champion_version=None,
        metrics={"per_site": {"a": site(0.1, None), "b": site(0.1, None)}},
        lineage=lineage(),
        config=GateConfig(),
    )
    assert report.passed
    assert any("first model" in r.detail for r in report.rules)


def test_too_few_sites() -> None:
    assert not judge({"a": site(0.09, 0.10)}, min_sites=2).passed


@pytest.mark.parametrize(
    ("wins", "trials", "p"), [(5, 5, 1 / 32), (3, 3, 1 / 8), (0, 4, 1.0), (4, 5, 6 / 32)]
)
def test_sign_test(wins: int, trials: int, p: float) -> None:
    assert sign_test_p_value(wins, trials) == pytest.approx(p)
