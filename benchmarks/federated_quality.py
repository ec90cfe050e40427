"""Federated vs centralised vs local-only forecasting on a simulated non-IID fleet.

Every site's holdout (its latest 20 % of time) is scored by three models, each trained to
convergence on its own schedule: the federated challenger (Edgeward's ServerApp logic, its
ClientApp and Flower's FedAvg, in process; 10 rounds of 3 local epochs), one model trained on
all sites' pooled data (the upper bound federated learning approaches without moving data;
10 epochs) and each site's own model trained on its data alone (10 epochs). Equal epochs
would not be equal work: a pooled epoch takes as many optimiser steps as all sites' local
epochs together, while FedAvg's sites step in parallel. MAE is in the fleet's normalised
units, so sites are comparable. Federated training is repeated with several seeds and
averaged per site: the order in which sites answer changes the summation order of FedAvg,
and over 30 local epochs that alone moves the fleet MAE by about 1 %. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from support.fleet import build_fleet, federated_run, prepared_sites, quiet

from edge_agent.learning.local_learning import feature_series
from edgeward.models import (
    ModelSpec,
    TrainConfig,
    build_model,
    evaluate_model,
    make_windows,
    split_by_time,
    train_model,
)
from edgeward.schema import load_schema


def main() -> None:
    """Train the three ways and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--strategy", default="fedavg")
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--epochs", type=int, default=3, help="Local epochs per round.")
    parser.add_argument(
        "--baseline-epochs",
        type=int,
        default=10,
        help="Epochs for the centralised and local-only models.",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="Federated runs to average (sites answer in varying order).",
    )
    args = parser.parse_args()
    quiet()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        nodes = build_fleet(Path(tmp), sites=args.sites, days=args.days, anomaly_rate=0.03)
        runs = [
            federated_run(
                nodes,
                rounds=args.rounds,
                epochs=args.epochs,
                model=args.model,
                strategy=args.strategy,
                lr=args.lr,
                seed=seed,
            ).metrics["per_site"]
            for seed in range(args.seeds)
        ]
        federated = {
            site: statistics.fmean(r[site]["challenger_mae"] for r in runs) for site in runs[0]
        }
        federated_f1 = [
            m["challenger_f1"] for r in runs for m in r.values() if m["challenger_f1"] is not None
        ]
        run_maes = [statistics.fmean(m["challenger_mae"] for m in r.values()) for r in runs]
        spec = ModelSpec(kind=args.model, features=load_schema().feature_names)
        prepared, stats = prepared_sites(nodes, spec)
        budget = TrainConfig(epochs=args.baseline_epochs, batch_size=128, lr=args.lr)

        pooled = make_windows(
            [s for p in prepared.values() for s in feature_series(p.data)],
            stats=stats,
            window=spec.window,
        )
        central_model = build_model(spec, seed=0)
        train_model(central_model, split_by_time(pooled, 0.2)[0], budget)
        centralised, centralised_f1, local, local_f1 = {}, [], {}, []
        for site, data in prepared.items():
            scored = evaluate_model(central_model, data.holdout, data.holdout_labels)
            centralised[site] = scored.mae
            if scored.best_f1 is not None:
                centralised_f1.append(scored.best_f1)
            own = build_model(spec, seed=0)
            train_model(own, data.train, budget)
            alone = evaluate_model(own, data.holdout, data.holdout_labels)
            local[site] = alone.mae
            if alone.best_f1 is not None:
                local_f1.append(alone.best_f1)
    federated_mae = statistics.fmean(federated.values())
    centralised_mae = statistics.fmean(centralised.values())
    beating = sum(federated[s] < local[s] for s in federated) / len(federated)
    print(
        json.dumps(
            {
                "sites": args.sites,
                "rounds": args.rounds,
                "model": args.model,
                "strategy": args.strategy,
                "lr": args.lr,
                "federated_mae": round(federated_mae, 5),
                "federated_mae_per_run": [round(m, 5) for m in run_maes],
                "centralised_mae": round(centralised_mae, 5),
                "local_only_mae": round(statistics.fmean(local.values()), 5),
                "ratio_federated_to_centralised": round(federated_mae / centralised_mae, 4),
                "sites_beating_local_fraction": round(beating, 3),
                "federated_f1": round(statistics.fmean(federated_f1), 4) if federated_f1 else None,
                "centralised_f1": round(statistics.fmean(centralised_f1), 4)
                if centralised_f1
                else None,
                "local_only_f1": round(statistics.fmean(local_f1), 4) if local_f1 else None,
                "seconds": round(time.monotonic() - started, 1),
                "goals": {
                    "ratio_federated_to_centralised": "<= 1.05",
                    "sites_beating_local_fraction": ">= 0.8",
                },
            }
        )
    )


if __name__ == "__main__":
    main()
