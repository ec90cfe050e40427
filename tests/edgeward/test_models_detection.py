"""AUROC and best F1 against hand-computed cases and a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest

from edgeward.models import ModelError, anomaly_scores, auroc, best_f1


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # 3 of 4 pairs ordered right
        ([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1], 0.875),  # one tied pair counts 1/2: 3.5 / 4
        ([1.0, 1.0, 1.0, 1.0], [0, 1, 0, 1], 0.5),  # all tied
        ([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], 1.0),
        ([0.1, 0.2, 0.3, 0.4], [1, 1, 0, 0], 0.0),
        ([3.0, 1.0, 2.0], [True, False, False], 1.0),
    ],
)
def test_auroc_matches_hand_computed_values(
    scores: list[float], labels: list[int], expected: float
) -> None:
    assert auroc(np.array(scores), np.array(labels)) == pytest.approx(expected)


def test_auroc_equals_the_share_of_ordered_pairs_with_ties_as_half() -> None:
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 6, size=80).astype(float)  # many ties
    labels = rng.random(80) < 0.3
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert auroc(scores, labels) == pytest.approx(wins / (pos.size * neg.size))


def test_auroc_needs_both_classes() -> None:
    with pytest.raises(ModelError, match="at least one positive and one negative"):
        auroc(np.array([0.1, 0.2]), np.array([True, True]))


@pytest.mark.parametrize(
    ("scores", "labels", "expected", "threshold"),
    [
        # thresholds 0.8, 0.4, 0.35, 0.1 give F1 2/3, 1/2, 4/5, 2/3
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.8, 0.35),
        # the tied 0.9s are flagged together: F1 1/2 at 0.9, 4/5 at 0.1
        ([0.9, 0.9, 0.1], [1, 0, 1], 0.8, 0.1),
        ([0.2, 0.9, 0.8], [0, 1, 1], 1.0, 0.8),
    ],
)
def test_best_f1_matches_hand_computed_values(
    scores: list[float], labels: list[int], expected: float, threshold: float
) -> None:
    f1, at = best_f1(np.array(scores), np.array(labels))
    assert f1 == pytest.approx(expected)
    assert at == threshold


def test_best_f1_equals_a_brute_force_search() -> None:
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 10, size=60).astype(float)
    labels = rng.random(60) < 0.25
    best = 0.0
    for t in np.unique(scores):
        flagged = scores >= t
        tp = (flagged & labels).sum()
        best = max(best, 2 * tp / (flagged.sum() + labels.sum()))
    assert best_f1(scores, labels)[0] == pytest.approx(best)


def test_best_f1_needs_a_positive_and_checks_inputs() -> None:
    with pytest.raises(ModelError, match="at least one positive"):
        best_f1(np.array([0.3]), np.array([False]))
    with pytest.raises(ModelError, match="got 2 scores for 3 labels"):
        best_f1(np.array([0.3, 0.4]), np.array([1, 0, 1]))
    with pytest.raises(ModelError, match="booleans or 0/1"):
        auroc(np.array([0.3, 0.4]), np.array([2, 0]))
    with pytest.raises(ModelError, match="must not be NaN"):
        auroc(np.array([np.nan, 0.4]), np.array([1, 0]))


def test_anomaly_score_is_the_rms_of_observed_residuals() -> None:
    residual = np.array([[3.0, -4.0], [np.nan, -2.0], [np.nan, np.nan], [0.0, 0.0]])
    np.testing.assert_allclose(anomaly_scores(residual), [np.sqrt(12.5), 2.0, 0.0, 0.0])
