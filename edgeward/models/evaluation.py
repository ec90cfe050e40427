"""Score a forecaster on windows: forecast error and, given labels, anomaly detection.

Errors are in normalised units (metric units divided by the fleet-wide standard deviation),
so they are scale-free and comparable across sites that share the federated stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from torch import nn

from edgeward.models.detection import auroc, best_f1, has_both_classes
from edgeward.models.errors import ModelError
from edgeward.models.inference import anomaly_scores, predict, smooth_scores
from edgeward.models.windows import WindowSet


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    """How a model did on a set of windows.

    `mae` is the mean absolute error averaged over features (each feature's MAE over its
    observed targets); `naive_mae` is the same for the "last value" forecast on the same
    windows, the baseline a model must beat. `auroc` and `best_f1` rate the anomaly score
    against labels; they are None without labels or when the labels hold a single class.
    """

    examples: int
    mae: float
    naive_mae: float
    mae_per_feature: dict[str, float] = field(default_factory=dict)
    positives: int = 0
    auroc: float | None = None
    best_f1: float | None = None

    def to_dict(self) -> dict[str, int | float]:
        """Return a flat dict of numbers (fits a Flower MetricRecord).

        Keys: examples, mae, naive_mae, positives, `mae/<feature>` for each feature with
        observed targets, and auroc and best_f1 when they were computed.
        """
        data: dict[str, int | float] = {
            "examples": self.examples,
            "mae": self.mae,
            "naive_mae": self.naive_mae,
            "positives": self.positives,
        }
        data.update({f"mae/{name}": value for name, value in self.mae_per_feature.items()})
        if self.auroc is not None:
            data["auroc"] = self.auroc
        if self.best_f1 is not None:
            data["best_f1"] = self.best_f1
        return data


def evaluate_model(
    model: nn.Module,
    windows: WindowSet,
    labels: np.ndarray | None = None,
    *,
    score_horizon: int = 1,
) -> Evaluation:
    """Return the forecast error of `model` on `windows` and, with labels, its detection.

    `labels` (one bool per window) marks the windows whose target is anomalous; the anomaly
    score averages residual scores over `score_horizon` windows (see `ModelSpec`). Raises
    `ModelError` when there are no windows or no observed target at all.
    """
    if len(windows) == 0:
        raise ModelError("cannot evaluate on zero windows")
    residual = windows.targets - predict(model, windows)
    per_feature = _mae_per_feature(residual, windows.features)
    if not per_feature:
        raise ModelError("cannot evaluate: no target value is observed")
    naive = _mae_per_feature(windows.targets - windows.last_inputs, windows.features)
    evaluation = Evaluation(
        examples=len(windows),
        mae=float(np.mean(list(per_feature.values()))),
        naive_mae=float(np.mean(list(naive.values()))),
        mae_per_feature=per_feature,
    )
    if labels is None:
        return evaluation
    flags = np.asarray(labels, dtype=bool)
    if flags.shape != (len(windows),):
        raise ModelError(f"got {flags.size} labels for {len(windows)} windows")
    positives = int(flags.sum())
    if not has_both_classes(flags):
        return replace(evaluation, positives=positives)
    score = smooth_scores(anomaly_scores(residual), windows, score_horizon)
    return replace(
        evaluation,
        positives=positives,
        auroc=auroc(score, flags),
        best_f1=best_f1(score, flags)[0],
    )


def _mae_per_feature(residual: np.ndarray, features: tuple[str, ...]) -> dict[str, float]:
    """Return each feature's mean absolute residual, leaving out features never observed."""
    observed = ~np.isnan(residual)
    counts = observed.sum(axis=0)
    sums = np.where(observed, np.abs(residual), 0.0).sum(axis=0, dtype=np.float64)
    return {name: float(sums[i] / counts[i]) for i, name in enumerate(features) if counts[i] > 0}
