"""A simulated fleet for benchmarks: stores filled through real ingestion, and run helpers."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aggregator.run_config import RunConfig  # noqa: E402
from aggregator.training_run import TrainingRun  # noqa: E402
from edge_agent.learning.client_app import app as client_app  # noqa: E402
from edge_agent.learning.local_learning import PreparedData, open_store, prepare  # noqa: E402
from edge_agent.learning.simulated_site import SimulatedHistory, fill_simulated_site  # noqa: E402
from edgeward.models import FeatureStats, ModelSpec  # noqa: E402
from tests.fakes.in_process_grid import InProcessGrid  # noqa: E402

END_TS = 1_796_300_000.0


def quiet() -> None:
    """Silence Flower's per-round logging in benchmark output."""
    logging.disable(logging.WARNING)


def build_fleet(
    root: Path, *, sites: int, days: float, step_s: float = 60.0, anomaly_rate: float = 0.015
) -> dict[int, dict[str, str]]:
    """Fill one store per site (different seeds: different load shapes); return node configs."""
    nodes = {}
    for index in range(sites):
        site = f"site-{index:02d}"
        fill_simulated_site(
            root / site,
            SimulatedHistory(
                site=site,
                seed=1000 + index,
                days=days,
                step_s=step_s,
                anomaly_rate=anomaly_rate,
                end_ts=END_TS,
            ),
        )
        nodes[100 + index] = {"data-dir": str(root / site), "site": site}
    return nodes


def federated_run(nodes: dict[int, dict[str, str]], **config: Any) -> Any:
    """Run Edgeward's ServerApp logic with its ClientApp and Flower strategies, in process."""
    values = {"min-nodes": len(nodes), "registry-dir": "", **config}
    return TrainingRun(
        InProcessGrid(client_app, nodes),
        RunConfig.from_flower(values),
        run_id=1,
        clock=lambda: END_TS + 60,
    ).execute()


def prepared_sites(
    nodes: dict[int, dict[str, str]], spec: ModelSpec, holdout_fraction: float = 0.2
) -> tuple[dict[str, PreparedData], FeatureStats]:
    """Return every site's windows normalised with the fleet's merged statistics."""
    from edge_agent.learning.site_data import load_site_data

    cutoff = int((END_TS + 60) * 1000)
    stats = FeatureStats.empty(spec.features)
    for node in nodes.values():
        store = open_store(Path(node["data-dir"]))
        for series in load_site_data(store, spec.features, cutoff_ms=cutoff).series:
            stats = stats.merge(FeatureStats.compute(spec.features, series.values))
        store.close()
    prepared = {}
    for node in nodes.values():
        store = open_store(Path(node["data-dir"]))
        prepared[node["site"]] = prepare(
            store, spec=spec, stats=stats, cutoff_ms=cutoff, holdout_fraction=holdout_fraction
        )
        store.close()
    return prepared, stats
