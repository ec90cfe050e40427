"""What a site does for a federated run, without Flower: statistics, training, evaluation.

The ClientApp adapts Flower messages to these functions. Each reads the site's store up to
the run's cut-off, so every message of a run sees the same data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_agent.learning.site_data import SiteData, load_site_data
from edge_agent.store import AgentStore, add_hold
from edgeward.fl_protocol import SiteDataSummary, SiteEvaluation
from edgeward.models import (
    FeatureSeries,
    FeatureStats,
    ModelSpec,
    TrainConfig,
    WindowSet,
    evaluate_model,
    label_windows,
    make_windows,
    model_from_arrays,
    split_by_time,
    state_to_arrays,
    train_model,
)

Arrays = dict[str, npt.NDArray[Any]]


@dataclass(kw_only=True, slots=True, frozen=True)
class PreparedData:
    """A site's windows for one run: train and holdout, with holdout labels where known."""

    data: SiteData
    train: WindowSet
    holdout: WindowSet
    holdout_labels: npt.NDArray[np.bool_] | None


def open_store(data_dir: Path) -> AgentStore:
    """Open the site's store (the agent may be writing to it at the same time)."""
    return AgentStore.open(data_dir, synchronous="normal")


def schema_hash(store: AgentStore) -> str:
    """Return the hash of the schema the site's newest data was validated with."""
    row = store.db.execute("SELECT hash FROM schemas ORDER BY id DESC LIMIT 1").fetchone()
    return str(row[0]) if row else ""


def feature_series(data: SiteData) -> list[FeatureSeries]:
    """Turn the store's series into the model zoo's."""
    return [
        FeatureSeries(source=s.source, timestamps=s.ts_ms, values=s.values) for s in data.series
    ]


def site_statistics(
    store: AgentStore,
    *,
    site: str,
    features: tuple[str, ...],
    cutoff_ms: int,
    window: int,
    holdout_fraction: float,
    hold_reason: str,
) -> tuple[SiteDataSummary, FeatureStats]:
    """Summarise the data a run will use, and hold it from retention while models need it."""
    data = load_site_data(store, features, cutoff_ms=cutoff_ms)
    stats = FeatureStats.empty(features)
    for series in data.series:
        stats = stats.merge(FeatureStats.compute(features, series.values))
    windows = make_windows(feature_series(data), stats=stats, window=window)
    train, holdout = split_by_time(windows, holdout_fraction) if len(windows) else (windows,) * 2
    if data.rows:
        add_hold(
            store,
            table="readings",
            ts_from_ms=data.first_ts_ms,
            ts_to_ms=cutoff_ms,
            reason=hold_reason,
        )
    summary = SiteDataSummary(
        site=site,
        rows=data.rows,
        sources=data.sources,
        first_ts_ms=data.first_ts_ms,
        last_ts_ms=data.last_ts_ms,
        fingerprint=data.fingerprint,
        schema_hash=schema_hash(store),
        windows_train=len(train),
        windows_holdout=len(holdout),
        labelled=bool(data.labels),
        quarantined=quarantined_between(store, data.first_ts_ms, cutoff_ms),
    )
    return summary, stats


def quarantined_between(store: AgentStore, first_ms: int, last_ms: int) -> int:
    """Count inputs quarantined while the training data arrived (for the promotion gate)."""
    row = store.db.execute(
        "SELECT coalesce(sum(occurrences), 0) FROM quarantine WHERE received_at BETWEEN ? AND ?",
        (first_ms / 1000, last_ms / 1000),
    ).fetchone()
    return int(row[0])


def prepare(
    store: AgentStore,
    *,
    spec: ModelSpec,
    stats: FeatureStats,
    cutoff_ms: int,
    holdout_fraction: float,
) -> PreparedData:
    """Build this run's train and holdout windows with the fleet's normalisation."""
    data = load_site_data(store, spec.features, cutoff_ms=cutoff_ms)
    windows = make_windows(feature_series(data), stats=stats, window=spec.window)
    train, holdout = split_by_time(windows, holdout_fraction)
    labels = label_windows(holdout, data.labels) if data.labels else None
    if labels is not None and (labels.all() or not labels.any()):
        labels = None  # AUROC and F1 need both classes
    return PreparedData(data=data, train=train, holdout=holdout, holdout_labels=labels)


def train_locally(
    prepared: PreparedData, *, spec: ModelSpec, arrays: Arrays, config: TrainConfig
) -> tuple[Arrays, dict[str, float]]:
    """Train from the received weights; report the holdout error before and after."""
    model = model_from_arrays(spec, arrays)
    metrics: dict[str, float] = {}
    if len(prepared.holdout):
        metrics["received-holdout-mae"] = evaluate_model(model, prepared.holdout).mae
    started = time.perf_counter()
    report = train_model(model, prepared.train, config)
    metrics["train-seconds"] = time.perf_counter() - started
    metrics["train-loss"] = report.mean_loss
    metrics["num-examples"] = float(report.examples)
    if len(prepared.holdout):
        metrics["trained-holdout-mae"] = evaluate_model(model, prepared.holdout).mae
    return state_to_arrays(model), metrics


def evaluate_candidates(
    prepared: PreparedData,
    *,
    site: str,
    spec: ModelSpec,
    challenger: Arrays,
    champion: tuple[ModelSpec, Arrays] | None,
) -> SiteEvaluation:
    """Evaluate the challenger (and the champion) on the same holdout windows."""
    if not len(prepared.holdout):
        return SiteEvaluation(site=site, examples=0, challenger_mae=float("nan"))
    labels = prepared.holdout_labels
    new = evaluate_model(
        model_from_arrays(spec, challenger),
        prepared.holdout,
        labels,
        score_horizon=spec.score_horizon,
    )
    old = None
    if champion is not None and comparable(champion[0], spec):
        old = evaluate_model(
            model_from_arrays(*champion),
            prepared.holdout,
            labels,
            score_horizon=champion[0].score_horizon,
        )
    return SiteEvaluation(
        site=site,
        examples=new.examples,
        challenger_mae=new.mae,
        champion_mae=old.mae if old else None,
        challenger_auroc=new.auroc,
        champion_auroc=old.auroc if old else None,
        challenger_f1=new.best_f1,
        champion_f1=old.best_f1 if old else None,
    )


def comparable(champion: ModelSpec, challenger: ModelSpec) -> bool:
    """Return whether two models read the same windows (so one holdout serves both)."""
    return champion.features == challenger.features and champion.window == challenger.window
