"""Federated feature statistics: additive, NaN-aware, and safe on the wire."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edgeward.models import FeatureStats, ModelError

NAMES = ("a", "b", "c")


def stats_of(values: np.ndarray) -> FeatureStats:
    return FeatureStats.compute(NAMES[: values.shape[1]], values)


# Multiples of 1/4 in [-1000, 1000] and NaN: sums are exact enough that a feature is either
# clearly constant or clearly spread, never at the MIN_STD threshold.
_quarters = st.integers(-4000, 4000).map(lambda q: q / 4.0)
_cells = st.one_of(_quarters, st.just(float("nan")))
_tables = st.integers(1, 3).flatmap(
    lambda width: arrays(np.float64, st.tuples(st.integers(1, 60), st.just(width)), elements=_cells)
)


@settings(max_examples=60, deadline=None)
@given(table=_tables, cuts=st.lists(st.floats(0.0, 1.0), max_size=4))
def test_merged_parts_equal_the_stats_of_the_whole(table: np.ndarray, cuts: list[float]) -> None:
    points = sorted(int(c * table.shape[0]) for c in cuts)
    parts = np.split(table, points)
    merged = FeatureStats.empty(NAMES[: table.shape[1]])
    for part in parts:
        merged = merged.merge(stats_of(part))
    whole = stats_of(table)
    for field in ("count", "sum", "sum_sq"):
        np.testing.assert_allclose(getattr(merged, field), getattr(whole, field), rtol=1e-12)
    seen = ~np.all(np.isnan(table), axis=0)
    with warnings.catch_warnings():  # all-NaN columns: "mean of empty slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(table, axis=0), np.nanstd(table, axis=0)
    np.testing.assert_allclose(merged.mean[seen], mean[seen], rtol=1e-9, atol=1e-9)
    spread = np.where(std > 1e-6 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    np.testing.assert_allclose(merged.std[seen], spread[seen], rtol=1e-6)
    assert np.all(merged.mean[~seen] == 0.0)
    assert np.all(merged.std[~seen] == 1.0)


def test_missing_values_are_skipped() -> None:
    stats = stats_of(np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 8.0]]))
    np.testing.assert_array_equal(stats.count, [2.0, 2.0])
    np.testing.assert_allclose(stats.mean, [2.0, 6.0])
    np.testing.assert_allclose(stats.std, [1.0, 2.0])


def test_a_constant_feature_is_centred_not_blown_up() -> None:
    stats = stats_of(np.array([[1000.1, 0.0], [1000.1, 0.0], [1000.1, 0.0]]))
    np.testing.assert_array_equal(stats.std, [1.0, 1.0])
    normalised = stats.normalise(np.array([[1001.1, 2.0]]))
    np.testing.assert_allclose(normalised, [[1.0, 2.0]], rtol=1e-9)


def test_normalise_and_denormalise_are_inverse() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(50.0, 7.0, size=(100, 3))
    stats = stats_of(values)
    normalised = stats.normalise(values)
    np.testing.assert_allclose(normalised.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(normalised.std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(stats.denormalise(normalised), values, rtol=1e-12)


def test_wire_form_is_flat_floats_and_round_trips() -> None:
    stats = stats_of(np.array([[1.0, 2.0, np.nan], [3.0, 5.0, 7.0]]))
    wire = json.loads(json.dumps(stats.to_dict()))
    assert set(wire) == {f"{part}/{name}" for part in ("count", "sum", "sum_sq") for name in NAMES}
    assert all(type(value) is float for value in wire.values())
    back = FeatureStats.from_dict(wire, NAMES)
    for field in ("count", "sum", "sum_sq"):
        np.testing.assert_array_equal(getattr(back, field), getattr(stats, field))


def test_wire_form_does_not_depend_on_key_order() -> None:
    stats = stats_of(np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 9.0]]))
    shuffled = dict(reversed(list(stats.to_dict().items())))
    assert FeatureStats.from_dict(shuffled).features == NAMES  # sorted names by default
    picked = FeatureStats.from_dict(shuffled, ["c", "a"])
    assert picked.features == ("c", "a")
    np.testing.assert_array_equal(picked.sum, [12.0, 5.0])


def test_adding_wire_values_key_by_key_equals_merge() -> None:
    left = stats_of(np.array([[1.0, 2.0, 3.0]]))
    right = stats_of(np.array([[4.0, np.nan, 6.0], [0.5, 1.0, 2.0]]))
    summed = {key: value + right.to_dict()[key] for key, value in left.to_dict().items()}
    assert FeatureStats.from_dict(summed, NAMES).to_dict() == left.merge(right).to_dict()


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"count/a": 1.0, "sum/a": 1.0}, "missing 'sum_sq/a'"),
        ({"count/a": 1.0, "sum/a": 1.0, "sum_sq/a": 1.0, "mean/a": 1.0}, "unexpected key"),
        ({"count/a": -1.0, "sum/a": 1.0, "sum_sq/a": 1.0}, "must not be negative"),
        ({"count/a": 1.0, "sum/a": "x", "sum_sq/a": 1.0}, "'sum/a' must be a number"),
        ({"count/a": 1.0, "sum/a": float("inf"), "sum_sq/a": 1.0}, "sum must be finite"),
    ],
)
def test_bad_wire_forms_are_refused(wire: dict[str, float], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        FeatureStats.from_dict(wire)


def test_merging_stats_over_other_features_is_refused() -> None:
    with pytest.raises(ModelError, match="cannot merge"):
        FeatureStats.empty(["a"]).merge(FeatureStats.empty(["b"]))


def test_select_reorders_and_names_what_is_missing() -> None:
    stats = stats_of(np.array([[1.0, 2.0, 3.0]]))
    assert stats.select(["b", "a"]).sum.tolist() == [2.0, 1.0]
    with pytest.raises(ModelError, match="no stats for z"):
        stats.select(["a", "z"])


def test_compute_checks_the_shape_and_refuses_infinity() -> None:
    with pytest.raises(ModelError, match=r"shape \(steps, 2\)"):
        FeatureStats.compute(["a", "b"], np.zeros((4, 3)))
    with pytest.raises(ModelError, match="finite or NaN"):
        FeatureStats.compute(["a"], np.array([[np.inf]]))
