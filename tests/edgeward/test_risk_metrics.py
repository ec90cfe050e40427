"""Risk metrics against hand-computed values."""

from __future__ import annotations

import pytest

from edgeward.risk.metrics import (
    accuracy,
    f1_per_level,
    latency_percentiles,
    macro_f1,
    majority_baseline_accuracy,
    majority_level,
    recall_high_critical,
    screen_metrics,
)

TRUTH = ["low", "low", "medium", "high", "critical", "critical"]
PREDICTED = ["low", "medium", "medium", "critical", "critical", "low"]


def test_accuracy_counts_exact_matches() -> None:
    # low, medium, critical (index 0, 2, 4) match: 3 of 6.
    assert accuracy(TRUTH, PREDICTED) == pytest.approx(0.5)


def test_f1_per_level_by_hand() -> None:
    # low: tp 1, predicted 2, actual 2 -> 2/4; medium: tp 1, predicted 2, actual 1 -> 2/3;
    # high: tp 0 -> 0; critical: tp 1, predicted 2, actual 2 -> 2/4.
    assert f1_per_level(TRUTH, PREDICTED) == pytest.approx(
        {"low": 0.5, "medium": 2 / 3, "high": 0.0, "critical": 0.5}
    )
    assert macro_f1(TRUTH, PREDICTED) == pytest.approx((0.5 + 2 / 3 + 0 + 0.5) / 4)


def test_recall_counts_high_as_critical_and_back() -> None:
    # Severe cases: high->critical (yes), critical->critical (yes), critical->low (no).
    assert recall_high_critical(TRUTH, PREDICTED) == pytest.approx(2 / 3)
    assert recall_high_critical(["low"], ["high"]) == 1.0


def test_majority_baseline_uses_the_train_labels() -> None:
    train = ["low", "low", "high"]
    test = ["high", "high", "low", "medium"]
    assert majority_level(train) == "low"
    assert majority_baseline_accuracy(train, test) == pytest.approx(0.25)
    assert majority_level(["low", "high"]) == "high"  # a tie goes to the stricter level


def test_latency_percentiles_interpolate() -> None:
    assert latency_percentiles([0.1, 0.2, 0.3, 0.4, 1.0]) == pytest.approx(
        {"latency_p50_s": 0.3, "latency_p95_s": 0.88}
    )


def test_screen_metrics_keys() -> None:
    assert set(screen_metrics(TRUTH, PREDICTED)) == {
        "accuracy",
        "macro_f1",
        "recall_high_critical",
    }
    with_latency = screen_metrics(TRUTH, PREDICTED, [0.5, 0.7])
    assert with_latency["latency_p50_s"] == pytest.approx(0.6)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 true levels but 1 predictions"):
        accuracy(["low", "high"], ["low"])
