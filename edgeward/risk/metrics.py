"""How well a risk screen does on labelled decisions: accuracy, macro-F1, recall and latency.

Every function takes the true and predicted levels as parallel sequences. Macro-F1 averages the
F1 of the four levels (a level that never occurs and is never predicted scores 0, so a screen
that only ever answers one level is not rewarded). "Recall of high+critical" counts a case
labelled high or critical as recalled when the prediction is high or critical too: it is the
share of dangerous decisions that would reach a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

import numpy as np

from edgeward.risk.decision import RISK_LEVELS, RiskLevel

SEVERE_LEVELS: Final[frozenset[RiskLevel]] = frozenset(("high", "critical"))


def accuracy(truth: Sequence[RiskLevel], predicted: Sequence[RiskLevel]) -> float:
    """Return the share of cases whose predicted level equals the true one (0 for no cases)."""
    _check_lengths(truth, predicted)
    if not truth:
        return 0.0
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def f1_per_level(
    truth: Sequence[RiskLevel], predicted: Sequence[RiskLevel]
) -> dict[RiskLevel, float]:
    """Return the F1 score of each risk level, in `RISK_LEVELS` order."""
    _check_lengths(truth, predicted)
    scores: dict[RiskLevel, float] = {}
    for level in RISK_LEVELS:
        hits = sum(t == p == level for t, p in zip(truth, predicted, strict=True))
        claimed = sum(p == level for p in predicted)
        actual = sum(t == level for t in truth)
        scores[level] = 2 * hits / (claimed + actual) if claimed + actual else 0.0
    return scores


def macro_f1(truth: Sequence[RiskLevel], predicted: Sequence[RiskLevel]) -> float:
    """Return the unweighted mean of the four levels' F1 scores."""
    return sum(f1_per_level(truth, predicted).values()) / len(RISK_LEVELS)


def recall_high_critical(truth: Sequence[RiskLevel], predicted: Sequence[RiskLevel]) -> float:
    """Return the share of high/critical cases predicted high or critical (1 if none)."""
    _check_lengths(truth, predicted)
    severe = [p for t, p in zip(truth, predicted, strict=True) if t in SEVERE_LEVELS]
    if not severe:
        return 1.0
    return sum(p in SEVERE_LEVELS for p in severe) / len(severe)


def majority_level(train_labels: Sequence[RiskLevel]) -> RiskLevel:
    """Return the most frequent level in the train labels (ties go to the stricter level)."""
    if not train_labels:
        raise ValueError("the majority level of no labels is undefined")
    counts = Counter(train_labels)
    return max(RISK_LEVELS, key=lambda level: (counts[level], RISK_LEVELS.index(level)))


def majority_baseline_accuracy(
    train_labels: Sequence[RiskLevel], test_labels: Sequence[RiskLevel]
) -> float:
    """Return the test accuracy of always answering the train split's majority level."""
    majority = majority_level(train_labels)
    return accuracy(test_labels, [majority] * len(test_labels))


def latency_percentiles(latencies_s: Sequence[float]) -> dict[str, float]:
    """Return `latency_p50_s` and `latency_p95_s` (linear interpolation between samples)."""
    if not latencies_s:
        raise ValueError("latency percentiles need at least one measurement")
    values = np.asarray(latencies_s, dtype=float)
    return {
        "latency_p50_s": float(np.percentile(values, 50)),
        "latency_p95_s": float(np.percentile(values, 95)),
    }


def screen_metrics(
    truth: Sequence[RiskLevel],
    predicted: Sequence[RiskLevel],
    latencies_s: Sequence[float] | None = None,
) -> dict[str, float]:
    """Return `accuracy`, `macro_f1`, `recall_high_critical` (+ latency keys when given)."""
    metrics = {
        "accuracy": accuracy(truth, predicted),
        "macro_f1": macro_f1(truth, predicted),
        "recall_high_critical": recall_high_critical(truth, predicted),
    }
    if latencies_s:
        metrics.update(latency_percentiles(latencies_s))
    return metrics


def _check_lengths(truth: Sequence[RiskLevel], predicted: Sequence[RiskLevel]) -> None:
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true levels but {len(predicted)} predictions")
