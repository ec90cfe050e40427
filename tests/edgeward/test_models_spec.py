"""Model specs, the networks built from them, and their weights as plain arrays."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch

from edgeward.models import (
    ModelError,
    ModelSpec,
    build_model,
    load_arrays,
    state_to_arrays,
)
from edgeward.schema import load_schema

FEATURES = load_schema().feature_names


def spec(**changes: Any) -> ModelSpec:
    fields: dict[str, Any] = {"kind": "mlp", "features": FEATURES, **changes}
    return ModelSpec(**fields)


# --- spec -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_spec_round_trips_through_json(kind: str) -> None:
    original = spec(
        kind=kind, window=16, hidden=32, layers=2, dropout=0.1, residual=False, clip=3.0
    )
    restored = ModelSpec.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original


def test_spec_defaults_match_the_design() -> None:
    made = ModelSpec.from_dict({"kind": "gru", "features": list(FEATURES)})
    assert (made.window, made.hidden, made.layers, made.dropout) == (32, 64, 1, 0.0)
    assert (made.residual, made.clip) == (True, 5.0)
    assert made.features == FEATURES


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "transformer"}, "kind must be one of mlp, gru"),
        ({"features": []}, "features must be a non-empty"),
        ({"features": ["cpu_pct", "cpu_pct"]}, "features must not repeat"),
        ({"features": ["cpu pct"]}, "feature names must be identifiers"),
        ({"features": "cpu_pct"}, "features must be list or tuple"),
        ({"features": ["cpu_pct", 3]}, "features must be a list of strings"),
        ({"window": 0}, "window must be 1 to"),
        ({"window": 3.5}, "window must be int, got float"),
        ({"window": True}, "window must be int, got bool"),
        ({"hidden": 100_000}, "hidden must be 1 to 4096"),
        ({"layers": 0}, "layers must be 1 to 8"),
        ({"dropout": 1.0}, "dropout must be at least 0 and below 1"),
        ({"dropout": "0.1"}, "dropout must be int or float"),
        ({"residual": 1}, "residual must be bool"),
        ({"clip": 0}, "clip must be above 0"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_spec_from_dict_rejects_bad_fields(changes: dict[str, Any], message: str) -> None:
    data = {**spec().to_dict(), **changes}
    with pytest.raises(ModelError, match=message):
        ModelSpec.from_dict(data)


def test_spec_from_dict_names_a_missing_field() -> None:
    with pytest.raises(ModelError, match="missing field 'features'"):
        ModelSpec.from_dict({"kind": "mlp"})


def test_spec_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="invalid model spec"):
        spec(window=-1)


# --- networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_model_maps_windows_to_the_next_step_of_every_feature(kind: str, layers: int) -> None:
    made = spec(kind=kind, window=12, hidden=16, layers=layers)
    model = build_model(made, seed=0)
    out = model(torch.randn(5, 12, len(FEATURES)))
    assert out.shape == (5, len(FEATURES))
    assert out.dtype == torch.float32


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_untrained_residual_model_forecasts_the_last_value(kind: str) -> None:
    windows = torch.randn(4, 8, len(FEATURES))
    model = build_model(spec(kind=kind, window=8), seed=3)
    assert torch.equal(model(windows), windows[:, -1, :])


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_a_fault_far_out_in_one_feature_does_not_swing_the_forecast(kind: str) -> None:
    model = build_model(spec(kind=kind, window=8, residual=False), seed=0)
    windows = torch.zeros(2, 8, len(FEATURES))
    windows[0, 3, 0], windows[1, 3, 0] = 6.0, 60.0  # both beyond the default clip of 5
    out = model(windows)
    assert torch.equal(out[0], out[1])


def test_gru_is_one_layer_from_features_to_hidden_with_a_linear_head() -> None:
    shapes = {name: a.shape for name, a in state_to_arrays(build_model(spec(kind="gru"))).items()}
    assert shapes["gru.weight_ih_l0"] == (3 * 64, len(FEATURES))
    assert shapes["head.weight"] == (len(FEATURES), 64)
    assert not any(name.endswith("_l1") for name in shapes)


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_initialisation_is_deterministic(kind: str) -> None:
    made = spec(kind=kind, residual=False)
    torch.manual_seed(7)
    first = state_to_arrays(build_model(made))
    torch.manual_seed(7)
    second = state_to_arrays(build_model(made))
    seeded = state_to_arrays(build_model(made, seed=7))
    for name, array in first.items():
        np.testing.assert_array_equal(array, second[name])
        np.testing.assert_array_equal(array, seeded[name])
    other = state_to_arrays(build_model(made, seed=8))
    assert any(not np.array_equal(first[name], other[name]) for name in first)


def test_seeded_build_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    build_model(spec(), seed=99)
    assert torch.equal(torch.rand(3), expected)


# --- weights ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_weights_round_trip_through_plain_arrays(kind: str) -> None:
    made = spec(kind=kind, residual=False)
    source, target = build_model(made, seed=1), build_model(made, seed=2)
    arrays = state_to_arrays(source)
    assert list(arrays) == list(source.state_dict())
    assert all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in arrays.values())
    load_arrays(target, arrays)
    windows = torch.randn(3, 32, len(FEATURES))
    assert torch.equal(source(windows), target(windows))


def test_exported_arrays_are_copies() -> None:
    model = build_model(spec(), seed=1)
    arrays = state_to_arrays(model)
    arrays["head.bias"][:] = 5.0
    assert float(model.state_dict()["head.bias"].abs().sum()) == 0.0


def test_loading_weights_of_another_architecture_says_what_differs() -> None:
    arrays = state_to_arrays(build_model(spec(hidden=32)))
    with pytest.raises(ModelError, match=r"body.1.weight has shape \(32, 288\).*\(64, 288\)"):
        load_arrays(build_model(spec(hidden=64)), arrays)
    with pytest.raises(ModelError, match=r"missing gru\..*unexpected body\."):
        load_arrays(build_model(spec(kind="gru")), arrays)


def test_loading_non_finite_weights_is_refused() -> None:
    model = build_model(spec())
    arrays = state_to_arrays(model)
    arrays["head.bias"][0] = np.nan
    with pytest.raises(ModelError, match=r"head\.bias is not finite"):
        load_arrays(model, arrays)
