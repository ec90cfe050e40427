"""The model zoo end to end on simulated sites: learning, FedProx, detection, determinism."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from edgeward.models import (
    Evaluation,
    FeatureStats,
    ModelError,
    ModelSpec,
    TrainConfig,
    TrainReport,
    WindowSet,
    anomaly_intervals,
    build_model,
    evaluate_model,
    label_windows,
    load_arrays,
    make_windows,
    model_from_arrays,
    series_from_simulation,
    split_by_time,
    state_to_arrays,
    train_model,
)
from edgeward.schema import load_schema
from edgeward.simulator import simulate

FEATURES = load_schema().feature_names
MONDAY = 1_717_372_800.0  # 2024-06-03 00:00 UTC
DAY = 1440  # one-minute steps


@dataclass(frozen=True, kw_only=True)
class Site:
    windows: WindowSet
    train: WindowSet
    holdout: WindowSet
    labels: np.ndarray


def simulated_site(*, days: float, anomaly_rate: float, holdout: float, site: str) -> Site:
    """Simulate 4 cells, compute the stats as a server would (merged per cell), cut windows."""
    simulation = simulate(
        site=site,
        sources=4,
        seed=1,
        start_ts=MONDAY,
        step_s=60,
        steps=int(days * DAY),
        anomaly_rate=anomaly_rate,
    )
    series = series_from_simulation(simulation, FEATURES)
    stats = FeatureStats.empty(FEATURES)
    for one in series:
        stats = stats.merge(FeatureStats.compute(FEATURES, one.values))
    windows = make_windows(series, stats=stats, window=32)
    train, held = split_by_time(windows, holdout_fraction=holdout)
    return Site(
        windows=windows,
        train=train,
        holdout=held,
        labels=label_windows(held, anomaly_intervals(simulation)),
    )


@pytest.fixture(scope="module")
def quiet_day() -> Site:
    """A day of one-minute readings from 4 cells without anomalies."""
    return simulated_site(days=1, anomaly_rate=0.0, holdout=0.2, site="lyon-01")


@pytest.fixture(scope="module")
def faulty_days() -> Site:
    """Three days with many injected anomalies, the last half held out."""
    return simulated_site(days=3, anomaly_rate=0.05, holdout=0.5, site="lyon-01")


def mlp(**changes: Any) -> torch.nn.Module:
    return build_model(ModelSpec(kind="mlp", features=FEATURES, **changes), seed=0)


def distance(model: torch.nn.Module, start: dict[str, np.ndarray]) -> float:
    now = state_to_arrays(model)
    return float(np.sqrt(sum(np.sum((now[k] - start[k]) ** 2) for k in start)))


# --- learning ---------------------------------------------------------------------------


def test_training_beats_the_last_value_forecast_on_held_out_time(quiet_day: Site) -> None:
    model = mlp()
    before = evaluate_model(model, quiet_day.holdout)
    assert before.mae == pytest.approx(before.naive_mae, rel=1e-6)  # starts as "last value"
    report = train_model(model, quiet_day.train, TrainConfig(epochs=12, batch_size=64))
    after = evaluate_model(model, quiet_day.holdout)
    # Per-step measurement noise bounds what any forecaster can gain over "last value" on
    # this simulator (an ideal one reaches ~0.75 of its MAE); this MLP measures ~0.86.
    assert after.mae < 0.93 * after.naive_mae
    assert set(after.mae_per_feature) == set(FEATURES)
    assert report.examples == len(quiet_day.train)
    assert report.batches == 12 * -(-len(quiet_day.train) // 64)
    assert report.samples == 12 * len(quiet_day.train)
    assert np.isfinite(report.mean_loss)


def test_gru_learns_too(quiet_day: Site) -> None:
    model = build_model(ModelSpec(kind="gru", features=FEATURES, hidden=32), seed=0)
    train_model(model, quiet_day.train, TrainConfig(epochs=2, batch_size=128, lr=3e-3))
    after = evaluate_model(model, quiet_day.holdout)
    assert after.mae < 0.97 * after.naive_mae


def test_fedprox_keeps_weights_near_the_global_ones(quiet_day: Site) -> None:
    start = state_to_arrays(mlp())
    moved = {}
    for mu in (0.0, 10.0):
        model = mlp()
        load_arrays(model, start)
        config = TrainConfig(epochs=1, batch_size=64, lr=3e-3, proximal_mu=mu, max_batches=40)
        train_model(model, quiet_day.train, config)
        moved[mu] = distance(model, start)
    assert moved[0.0] > 0
    assert moved[10.0] < 0.5 * moved[0.0]


def test_training_is_deterministic_for_a_seed(quiet_day: Site) -> None:
    def trained(seed: int) -> dict[str, np.ndarray]:
        model = mlp(dropout=0.2)
        train_model(model, quiet_day.train, TrainConfig(seed=seed, max_batches=20))
        return state_to_arrays(model)

    first, again, other = trained(3), trained(3), trained(4)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert any(not np.array_equal(first[name], other[name]) for name in first)


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_a_model_built_from_arrays_is_the_same_model_and_trains(kind: str, quiet_day: Site) -> None:
    spec = ModelSpec(kind=kind, features=FEATURES, hidden=16)
    original = build_model(spec, seed=5)
    rebuilt = model_from_arrays(spec, state_to_arrays(original))
    windows = torch.from_numpy(quiet_day.holdout.subset(np.arange(8)).inputs)
    with torch.inference_mode():
        torch.testing.assert_close(rebuilt.eval()(windows), original.eval()(windows))
    before = state_to_arrays(rebuilt)
    train_model(rebuilt, quiet_day.train, TrainConfig(max_batches=3))
    assert any(not np.array_equal(before[n], a) for n, a in state_to_arrays(rebuilt).items())


def test_training_leaves_the_global_generator_alone(quiet_day: Site) -> None:
    torch.manual_seed(11)
    expected = torch.rand(2)
    torch.manual_seed(11)
    train_model(mlp(), quiet_day.train, TrainConfig(max_batches=3))
    assert torch.equal(torch.rand(2), expected)


def test_max_batches_bounds_a_round(quiet_day: Site) -> None:
    report = train_model(mlp(), quiet_day.train, TrainConfig(epochs=5, max_batches=7))
    assert (report.batches, report.samples) == (7, 7 * 64)
    assert report.examples == len(quiet_day.train)


def test_training_on_nothing_changes_nothing(quiet_day: Site) -> None:
    model = mlp(residual=False)
    before = state_to_arrays(model)
    empty = quiet_day.train.subset(np.zeros(len(quiet_day.train), dtype=bool))
    report = train_model(model, empty, TrainConfig())
    assert report == TrainReport(examples=0, samples=0, batches=0, mean_loss=0.0, seconds=0.0)
    for name, array in state_to_arrays(model).items():
        np.testing.assert_array_equal(array, before[name])


def test_missing_metrics_are_trained_around() -> None:
    simulation = simulate(site="oslo-06", sources=3, seed=2, start_ts=MONDAY, step_s=60, steps=400)
    series = series_from_simulation(simulation, FEATURES)
    rng = np.random.default_rng(0)
    for one in series:
        one.values[rng.random(one.values.shape) < 0.1] = np.nan
    series[0].values[:, FEATURES.index("temperature_c")] = np.nan  # never reported by one cell
    stats = FeatureStats.empty(FEATURES)
    for one in series:
        stats = stats.merge(FeatureStats.compute(FEATURES, one.values))
    windows = make_windows(series, stats=stats, window=16)
    assert not np.isnan(windows.inputs).any()
    model = build_model(ModelSpec(kind="mlp", features=FEATURES, window=16), seed=0)
    report = train_model(model, windows, TrainConfig(epochs=2))
    result = evaluate_model(model, windows)
    assert np.isfinite(report.mean_loss)
    assert np.isfinite(result.mae)
    assert set(result.mae_per_feature) == set(FEATURES)


# --- evaluation and detection -----------------------------------------------------------


def test_anomaly_score_finds_injected_faults(faulty_days: Site) -> None:
    model = mlp()
    train_model(model, faulty_days.train, TrainConfig(epochs=3, batch_size=64))
    result = evaluate_model(model, faulty_days.holdout, faulty_days.labels)
    share = faulty_days.labels.mean()
    assert result.positives == int(faulty_days.labels.sum()) > 100
    assert result.auroc is not None
    assert result.auroc > 0.6  # measured ~0.71; one-step residuals miss stuck sensors
    assert result.best_f1 is not None
    assert result.best_f1 > 2 * (2 * share / (1 + share))  # twice the F1 of flagging all


def test_evaluation_without_both_classes_has_no_detection_scores(quiet_day: Site) -> None:
    none = np.zeros(len(quiet_day.holdout), dtype=bool)
    result = evaluate_model(mlp(), quiet_day.holdout, none)
    assert (result.positives, result.auroc, result.best_f1) == (0, None, None)
    wire = result.to_dict()
    assert "auroc" not in wire
    assert "best_f1" not in wire


def test_evaluation_wire_form_is_flat_numbers(faulty_days: Site) -> None:
    result = evaluate_model(mlp(), faulty_days.holdout, faulty_days.labels)
    wire = result.to_dict()
    assert all(type(v) in (int, float) for v in wire.values())
    assert wire["examples"] == len(faulty_days.holdout)
    assert wire["mae"] == result.mae
    assert {f"mae/{name}" for name in FEATURES} <= set(wire)
    assert {"auroc", "best_f1", "naive_mae", "positives"} <= set(wire)


def test_evaluating_nothing_or_mismatched_labels_is_refused(quiet_day: Site) -> None:
    empty = quiet_day.holdout.subset(np.zeros(len(quiet_day.holdout), dtype=bool))
    with pytest.raises(ModelError, match="zero windows"):
        evaluate_model(mlp(), empty)
    with pytest.raises(ModelError, match="got 3 labels for"):
        evaluate_model(mlp(), quiet_day.holdout, np.zeros(3, dtype=bool))


def test_evaluation_is_a_frozen_value() -> None:
    result = Evaluation(examples=1, mae=0.5, naive_mae=0.6)
    with pytest.raises(AttributeError):
        result.mae = 0.1  # type: ignore[misc]


# --- training config --------------------------------------------------------------------


def test_train_config_round_trips_and_omits_no_limit() -> None:
    config = TrainConfig(epochs=3, batch_size=32, lr=5e-4, proximal_mu=0.1, seed=9)
    wire = config.to_dict()
    assert "max_batches" not in wire
    assert TrainConfig.from_dict(wire) == config
    limited = TrainConfig(max_batches=50)
    assert TrainConfig.from_dict(limited.to_dict()) == limited


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"lr": 0.0}, "lr must be positive"),
        ({"proximal_mu": -1.0}, "proximal_mu must not be negative"),
        ({"max_batches": 0}, "max_batches must be >= 1"),
        ({"momentum": 0.9}, "unknown key"),
        ({"epochs": 2.0}, "epochs must be an integer"),
        ({"lr": "fast"}, "invalid training config"),
    ],
)
def test_train_config_refuses_bad_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        TrainConfig.from_dict({**TrainConfig().to_dict(), **changes})
