"""Run a model over windows: forecasts, residuals and the anomaly score of each window."""

from __future__ import annotations

from typing import Final

import numpy as np
import torch
from torch import nn

from edgeward.models.windows import WindowSet

PREDICT_BATCH: Final = 1024


class WindowBatches:
    """Gather windows of a `WindowSet` as tensors without materialising all of them."""

    def __init__(self, windows: WindowSet) -> None:
        self._frames = torch.from_numpy(np.ascontiguousarray(windows.frames, dtype=np.float32))
        self._starts = torch.from_numpy(windows.starts.astype(np.int64, copy=False))
        self._offsets = torch.arange(windows.window, dtype=torch.int64)
        targets = np.asarray(windows.targets, dtype=np.float32)
        self._observed = torch.from_numpy(~np.isnan(targets))
        self._targets = torch.from_numpy(np.nan_to_num(targets, nan=0.0))

    def inputs(self, index: torch.Tensor) -> torch.Tensor:
        """Return the windows at `index` as (len(index), window, features)."""
        return self._frames[self._starts[index][:, None] + self._offsets]

    def targets(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the targets at `index` (missing ones as 0) and the mask of observed ones."""
        return self._targets[index], self._observed[index]


def predict(model: nn.Module, windows: WindowSet, *, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Return the model's normalised forecast of each window's target, (windows, features)."""
    out = np.empty((len(windows), windows.width), dtype=np.float32)
    batches = WindowBatches(windows)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for begin in range(0, len(windows), batch_size):
                index = torch.arange(begin, min(begin + batch_size, len(windows)))
                out[begin : begin + len(index)] = model(batches.inputs(index)).numpy()
    finally:
        model.train(was_training)
    return out


def residuals(model: nn.Module, windows: WindowSet) -> np.ndarray:
    """Return target minus forecast per window and feature, NaN where the target is missing."""
    residual: np.ndarray = windows.targets - predict(model, windows)
    return residual


def anomaly_scores(residual: np.ndarray) -> np.ndarray:
    """Return one score per window: the RMS over features of its normalised residuals.

    Chosen by measurement on six simulated sites (4 cells, 4 days, anomaly rate 0.05, the
    last 2 days held out; mean AUROC with MLP / GRU): RMS 0.60 / 0.66, max 0.60 / 0.66,
    mean 0.59 / 0.65. RMS and max rank windows alike: both catch single-metric spikes
    (AUROC ~0.9-1), RMS does a little better on faults that move several metrics a little
    (surges, outages) and is swayed less by one heavy-tailed metric (packet loss). The mean
    dilutes single-metric faults. One-step residuals flag a fault's first steps; sustained
    faults (drifts, stuck sensors) are barely visible to them. Missing targets are left out;
    a window with none observed scores 0.
    """
    squared = np.square(np.asarray(residual, dtype=np.float64))
    observed = ~np.isnan(squared)
    count = observed.sum(axis=1)
    total = np.where(observed, squared, 0.0).sum(axis=1)
    mean_square = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    score: np.ndarray = np.sqrt(mean_square)
    return score


def smooth_scores(scores: np.ndarray, windows: WindowSet, horizon: int) -> np.ndarray:
    """Average each window's score with those of up to `horizon - 1` windows before it.

    Windows are grouped by series and taken in target-time order, so a series never borrows
    another's scores; the first windows of a series average over what there is.
    """
    if horizon <= 1 or len(scores) == 0:
        return np.asarray(scores, dtype=np.float64)
    smoothed = np.empty(len(scores), dtype=np.float64)
    for series in np.unique(windows.series_index):
        members = np.flatnonzero(windows.series_index == series)
        members = members[np.argsort(windows.target_ts[members], kind="stable")]
        cumulative = np.concatenate([[0.0], np.cumsum(scores[members], dtype=np.float64)])
        ends = np.arange(1, len(members) + 1)
        starts = np.maximum(0, ends - horizon)
        smoothed[members] = (cumulative[ends] - cumulative[starts]) / (ends - starts)
    return smoothed
