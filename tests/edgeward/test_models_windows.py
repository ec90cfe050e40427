"""Windows: normalised, filled within a series, never across series, split and labelled by time."""

from __future__ import annotations

import numpy as np
import pytest

from edgeward.models import (
    FeatureSeries,
    FeatureStats,
    ModelError,
    WindowSet,
    label_windows,
    make_windows,
    split_by_time,
)

NAMES = ("a", "b")
MINUTE = 60_000


def series(
    source: str, values: list[list[float]], start: int = 0, step: int = MINUTE
) -> FeatureSeries:
    rows = np.array(values, dtype=np.float64)
    ts = start + step * np.arange(rows.shape[0], dtype=np.int64)
    return FeatureSeries(source=source, timestamps=ts, values=rows)


def unit_stats() -> FeatureStats:
    """Stats with mean 0 and std 1, so normalised values equal the raw ones."""
    return FeatureStats(
        features=NAMES, count=np.array([2.0, 2.0]), sum=np.zeros(2), sum_sq=np.array([2.0, 2.0])
    )


def ramp(source: str, steps: int, start: int = 0, base: float = 0.0) -> FeatureSeries:
    values = [[base + i, -(base + i)] for i in range(steps)]
    return series(source, values, start=start)


def test_windows_hold_consecutive_steps_and_the_step_after() -> None:
    made = make_windows([ramp("x", 6)], stats=unit_stats(), window=3)
    assert len(made) == 3
    assert made.inputs.shape == (3, 3, 2)
    assert made.inputs.dtype == np.float32
    assert made.targets.dtype == np.float32
    np.testing.assert_array_equal(made.inputs[1, :, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(made.targets[:, 0], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(made.last_inputs[:, 0], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(made.target_ts, [3 * MINUTE, 4 * MINUTE, 5 * MINUTE])
    assert made.target_ts.dtype == np.int64


def test_windows_are_normalised_with_the_stats() -> None:
    stats = FeatureStats.compute(NAMES, np.array([[0.0, 10.0], [4.0, 30.0]]))  # mean 2/20, std 2/10
    made = make_windows(
        [series("x", [[2.0, 20.0], [4.0, 40.0], [6.0, 0.0]])], stats=stats, window=2
    )
    np.testing.assert_allclose(made.inputs[0], [[0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(made.targets[0], [2.0, -2.0])


def test_windows_never_span_two_series() -> None:
    sources = [ramp("x", 10, base=0.0), ramp("y", 4, base=100.0), ramp("z", 7, base=200.0)]
    made = make_windows(sources, stats=unit_stats(), window=4)
    assert len(made) == 6 + 0 + 3  # a series needs more steps than the window
    assert made.sources == ("x", "y", "z")
    for inputs, target, owner in zip(made.inputs, made.targets, made.series_index, strict=True):
        steps = np.append(inputs[:, 0], target[0])
        assert np.all((steps >= 100.0 * owner) & (steps < 100.0 * owner + 10))  # its own rows
        np.testing.assert_array_equal(np.diff(steps), np.ones(4))  # consecutive


def test_missing_inputs_are_carried_forward_and_leading_gaps_get_the_mean() -> None:
    stats = FeatureStats.compute(NAMES, np.array([[0.0, 10.0], [2.0, 30.0]]))  # means 1 and 20
    raw = [[np.nan, 10.0], [np.nan, np.nan], [3.0, np.nan], [np.nan, 30.0], [5.0, 40.0]]
    made = make_windows([series("x", raw)], stats=stats, window=4)
    row = made.inputs[0]
    np.testing.assert_allclose(stats.denormalise(row)[:, 0], [1.0, 1.0, 3.0, 3.0])  # mean, ffill
    np.testing.assert_allclose(stats.denormalise(row)[:, 1], [10.0, 10.0, 10.0, 30.0])
    assert not np.isnan(made.inputs).any()


def test_missing_targets_stay_missing_and_empty_targets_are_dropped() -> None:
    raw = [[1.0, 1.0], [2.0, 2.0], [np.nan, 3.0], [np.nan, np.nan], [5.0, 5.0]]
    made = make_windows([series("x", raw)], stats=unit_stats(), window=1)
    np.testing.assert_array_equal(made.target_ts, [MINUTE, 2 * MINUTE, 4 * MINUTE])
    assert np.isnan(made.targets[1, 0])
    assert made.targets[1, 1] == 3.0


def test_windows_across_a_gap_in_time_can_be_left_out() -> None:
    ts = np.array([0, 1, 2, 3, 10, 11, 12], dtype=np.int64) * MINUTE
    one = FeatureSeries(source="x", timestamps=ts, values=np.zeros((7, 2)))
    assert len(make_windows([one], stats=unit_stats(), window=2)) == 5
    kept = make_windows([one], stats=unit_stats(), window=2, max_gap_ms=2 * MINUTE)
    np.testing.assert_array_equal(kept.target_ts, [2 * MINUTE, 3 * MINUTE, 12 * MINUTE])


def test_no_series_or_short_series_give_an_empty_set() -> None:
    for given in ([], [ramp("x", 3)]):
        made = make_windows(given, stats=unit_stats(), window=3)
        assert len(made) == 0
        assert made.inputs.shape == (0, 3, 2)


def test_bad_series_are_refused_with_a_sentence() -> None:
    with pytest.raises(ModelError, match="timestamps must strictly increase"):
        FeatureSeries(source="x", timestamps=np.array([0, 0]), values=np.zeros((2, 2)))
    with pytest.raises(ModelError, match="timestamps must be a 1-D integer array"):
        FeatureSeries(source="x", timestamps=np.array([0.5, 1.0]), values=np.zeros((2, 2)))
    with pytest.raises(ModelError, match=r"values must be \(steps, features\) with 3 steps"):
        FeatureSeries(source="x", timestamps=np.arange(3), values=np.zeros((2, 2)))
    wide = FeatureSeries(source="x", timestamps=np.arange(3), values=np.zeros((3, 5)))
    with pytest.raises(ModelError, match="'x' has 5 features, the stats have 2"):
        make_windows([wide], stats=unit_stats(), window=1)


# --- split and labels -------------------------------------------------------------------


def two_cells() -> WindowSet:
    """Two sources over the same 101 minutes plus one that starts later."""
    sources = [ramp("x", 101), ramp("y", 101), ramp("z", 51, start=50 * MINUTE)]
    return make_windows(sources, stats=unit_stats(), window=1)


def test_split_by_time_holds_out_the_latest_fraction() -> None:
    made = two_cells()
    train, holdout = split_by_time(made, holdout_fraction=0.2)
    assert len(train) + len(holdout) == len(made)
    assert train.target_ts.max() < holdout.target_ts.min()
    assert holdout.target_ts.min() == 81 * MINUTE  # last 20 of minutes 1..100
    assert set(holdout.series_index.tolist()) == {0, 1, 2}
    assert train.frames is made.frames  # subsets share the rows


def test_split_by_time_keeps_each_sets_order() -> None:
    train, holdout = split_by_time(two_cells(), holdout_fraction=0.5)
    for part in (train, holdout):
        for owner in range(3):
            assert np.all(np.diff(part.target_ts[part.series_index == owner]) > 0)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_by_time_refuses_a_fraction_outside_zero_one(fraction: float) -> None:
    with pytest.raises(ModelError, match="holdout fraction must be between 0 and 1"):
        split_by_time(two_cells(), holdout_fraction=fraction)


def test_windows_are_labelled_by_their_source_and_target_time() -> None:
    made = two_cells()
    labels = label_windows(
        made, {"y": [(10 * MINUTE, 12 * MINUTE)], "z": [(60 * MINUTE, 60 * MINUTE)]}
    )
    assert labels.dtype == np.bool_
    flagged = {
        (made.sources[o], int(t // MINUTE))
        for o, t in zip(made.series_index[labels], made.target_ts[labels], strict=True)
    }
    assert flagged == {("y", 10), ("y", 11), ("y", 12), ("z", 60)}
