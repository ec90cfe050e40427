"""Turn per-source series into normalised training windows, split them by time, label them.

A `FeatureSeries` is one source's readings on a regular time grid (the store resamples): int64
millisecond timestamps and a (steps, features) array, NaN where a metric is missing. Making
windows normalises with the (federated) `FeatureStats`, then forward-fills missing inputs
within the series; a metric missing since the series began is filled with the fleet mean
(0 in normalised units) rather than dropping those steps, so a source that never reports one
metric still contributes the others. Targets are not filled: a missing target stays NaN and
training and evaluation skip it; a window whose target step is missing entirely is dropped.
Windows never span two series, nor (with `max_gap_ms`) a gap in a series' timestamps.

A `WindowSet` keeps the filled rows once (`frames`) and each window as the row it starts at,
so it takes O(steps x features) memory instead of O(steps x window x features); `inputs`
materialises the (windows, window, features) array when a caller needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edgeward.models.errors import ModelError
from edgeward.models.stats import FeatureStats


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class FeatureSeries:
    """One source's readings: `timestamps` (steps,) int64 ms, `values` (steps, features)."""

    source: str
    timestamps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        ts, values = self.timestamps, self.values
        if ts.ndim != 1 or not np.issubdtype(ts.dtype, np.integer):
            raise ModelError(f"series {self.source!r}: timestamps must be a 1-D integer array")
        if values.ndim != 2 or values.shape[0] != ts.shape[0]:
            raise ModelError(
                f"series {self.source!r}: values must be (steps, features) with "
                f"{ts.shape[0]} steps, got {values.shape}"
            )
        if ts.size > 1 and not np.all(np.diff(ts) > 0):
            raise ModelError(f"series {self.source!r}: timestamps must strictly increase")


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class WindowSet:
    """Windows of `window` normalised steps and the step that follows each.

    `frames` holds the filled rows of every series back to back (float32); window i is
    `frames[starts[i] : starts[i] + window]`, its target `targets[i]` (NaN where the metric
    was not observed) at `target_ts[i]`, from series `series_index[i]` of `sources`.
    Columns are `features`.
    """

    features: tuple[str, ...]
    window: int
    frames: np.ndarray
    starts: np.ndarray
    targets: np.ndarray
    target_ts: np.ndarray
    series_index: np.ndarray
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def width(self) -> int:
        """Return the number of features."""
        return len(self.features)

    @property
    def inputs(self) -> np.ndarray:
        """Return the windows as a new (windows, window, features) float32 array."""
        return self.frames[self.starts[:, None] + np.arange(self.window)]

    @property
    def last_inputs(self) -> np.ndarray:
        """Return each window's last step (the "last value" forecast), (windows, features)."""
        last: np.ndarray = self.frames[self.starts + self.window - 1]
        return last

    def subset(self, selection: np.ndarray) -> WindowSet:
        """Return the windows a boolean mask or an index array selects (frames are shared)."""
        return WindowSet(
            features=self.features,
            window=self.window,
            frames=self.frames,
            starts=self.starts[selection],
            targets=self.targets[selection],
            target_ts=self.target_ts[selection],
            series_index=self.series_index[selection],
            sources=self.sources,
        )


def make_windows(
    series: Sequence[FeatureSeries],
    *,
    stats: FeatureStats,
    window: int,
    max_gap_ms: int | None = None,
) -> WindowSet:
    """Normalise `series` with `stats` and cut every window of `window` steps plus a target.

    Each series' columns must be in `stats.features` order. With `max_gap_ms`, a window
    whose steps (target included) are further apart than that somewhere is left out.
    """
    if window < 1:
        raise ModelError(f"window must be at least 1 step, got {window}")
    width = len(stats.features)
    frames, starts, targets, target_ts, owners = [], [], [], [], []
    offset = 0
    for index, one in enumerate(series):
        if one.values.shape[1] != width:
            raise ModelError(
                f"series {one.source!r} has {one.values.shape[1]} features, "
                f"the stats have {width} ({', '.join(stats.features)})"
            )
        normalised = stats.normalise(one.values)
        first = _window_starts(one, normalised, window, max_gap_ms)
        frames.append(_forward_fill(normalised).astype(np.float32))
        starts.append(first + offset)
        targets.append(normalised[first + window].astype(np.float32))
        target_ts.append(one.timestamps[first + window].astype(np.int64))
        owners.append(np.full(first.shape[0], index, dtype=np.int64))
        offset += one.values.shape[0]
    return WindowSet(
        features=stats.features,
        window=window,
        frames=_concat(frames, (0, width), np.float32),
        starts=_concat(starts, (0,), np.int64),
        targets=_concat(targets, (0, width), np.float32),
        target_ts=_concat(target_ts, (0,), np.int64),
        series_index=_concat(owners, (0,), np.int64),
        sources=tuple(one.source for one in series),
    )


def _window_starts(
    one: FeatureSeries, normalised: np.ndarray, window: int, max_gap_ms: int | None
) -> np.ndarray:
    """Return the first row of every usable window of one series."""
    steps = normalised.shape[0]
    if steps <= window:
        return np.zeros(0, dtype=np.int64)
    first = np.arange(steps - window, dtype=np.int64)
    keep = ~np.all(np.isnan(normalised[first + window]), axis=1)
    if max_gap_ms is not None:
        gaps = np.concatenate(([0], np.cumsum(np.diff(one.timestamps) > max_gap_ms)))
        keep &= gaps[first + window] == gaps[first]
    kept: np.ndarray = first[keep]
    return kept


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Return `values` with each NaN replaced by the last value above it, or 0 if none."""
    steps = values.shape[0]
    present = ~np.isnan(values)
    source_row = np.where(present, np.arange(steps)[:, None], 0)
    np.maximum.accumulate(source_row, axis=0, out=source_row)
    filled = np.take_along_axis(values, source_row, axis=0)
    return np.where(np.isnan(filled), 0.0, filled)


def _concat(parts: list[np.ndarray], empty: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty, dtype)


def split_by_time(windows: WindowSet, holdout_fraction: float = 0.2) -> tuple[WindowSet, WindowSet]:
    """Return (train, holdout): holdout targets fall in the latest fraction of the time range.

    The cut is one instant for the whole site, so no training target is later than any
    holdout target; the sets are never shuffled across it.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ModelError(f"holdout fraction must be between 0 and 1, got {holdout_fraction}")
    if len(windows) == 0:
        return windows, windows
    first, last = int(windows.target_ts.min()), int(windows.target_ts.max())
    cut = last - holdout_fraction * (last - first)
    holdout = windows.target_ts > cut
    return windows.subset(~holdout), windows.subset(holdout)


def label_windows(
    windows: WindowSet, intervals: Mapping[str, Sequence[tuple[int, int]]]
) -> np.ndarray:
    """Return a bool per window: is its target time inside one of its source's intervals?

    `intervals` maps a source to its (start_ms, end_ms) spans, both ends inclusive; sources
    without an entry have no anomalies.
    """
    labels = np.zeros(len(windows), dtype=bool)
    for index, source in enumerate(windows.sources):
        spans = intervals.get(source, ())
        if not spans:
            continue
        mine = windows.series_index == index
        ts = windows.target_ts[mine]
        hit = np.zeros(ts.shape[0], dtype=bool)
        for start, end in spans:
            hit |= (ts >= start) & (ts <= end)
        labels[mine] = hit
    return labels
