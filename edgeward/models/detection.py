"""How well a score separates anomalies from normal windows: AUROC and best F1, numpy only."""

from __future__ import annotations

import numpy as np

from edgeward.models.errors import ModelError


def _checked(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score = np.asarray(scores, dtype=np.float64).ravel()
    label = np.asarray(labels).ravel()
    if score.shape != label.shape:
        raise ModelError(f"got {score.size} scores for {label.size} labels")
    if label.dtype != np.bool_:
        if not np.all((label == 0) | (label == 1)):
            raise ModelError("labels must be booleans or 0/1")
        label = label.astype(bool)
    if np.any(np.isnan(score)):
        raise ModelError("scores must not be NaN")
    return score, label


def has_both_classes(labels: np.ndarray) -> bool:
    """Return whether `labels` holds at least one positive and one negative."""
    label = np.asarray(labels).astype(bool)
    return bool(label.any() and not label.all())


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the area under the ROC curve of `scores` for boolean `labels`.

    It is the probability that a random positive scores above a random negative, ties
    counting one half (the Mann-Whitney U statistic over mid-ranks). Raises `ModelError`
    unless both classes are present.
    """
    score, label = _checked(scores, labels)
    if not has_both_classes(label):
        raise ModelError("AUROC needs at least one positive and one negative label")
    ranks = _mid_ranks(score)
    positives = int(label.sum())
    negatives = label.size - positives
    u = ranks[label].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def _mid_ranks(values: np.ndarray) -> np.ndarray:
    """Return 1-based ranks of `values`, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.concatenate((starts[1:], [values.size]))
    group_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def best_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Return the best F1 over thresholds "score >= t" and the threshold that reaches it.

    Every distinct score is tried as a threshold (tied scores are flagged together). Raises
    `ModelError` unless there is at least one positive label.
    """
    score, label = _checked(scores, labels)
    positives = int(label.sum())
    if positives == 0:
        raise ModelError("best F1 needs at least one positive label")
    order = np.argsort(-score, kind="mergesort")
    ordered, hits = score[order], label[order]
    true_pos = np.cumsum(hits)
    flagged = np.arange(1, score.size + 1)
    last_of_tie = np.concatenate((ordered[1:] != ordered[:-1], [True]))
    true_pos, flagged = true_pos[last_of_tie], flagged[last_of_tie]
    f1 = 2.0 * true_pos / (flagged + positives)
    best = int(np.argmax(f1))
    return float(f1[best]), float(ordered[last_of_tie][best])
