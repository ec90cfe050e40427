"""Edgeward's Flower ClientApp: adapts Flower messages to the site's local learning.

The SuperNode started by `edgeward agent run` passes the site's data folder and name in its
node config; in Flower's simulation engine the run config names a fleet folder and the
partition id picks the site within it. Everything else is in `local_learning`.
"""

from __future__ import annotations

import json
from pathlib import Path

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from edge_agent.learning.local_learning import (
    PreparedData,
    evaluate_candidates,
    open_store,
    prepare,
    site_statistics,
    train_locally,
)
from edge_agent.learning.simulated_site import SimulatedHistory, ensure_simulated_site
from edge_agent.torch_threads import limit_torch_threads
from edgeward import fl_protocol as fp
from edgeward.fl_records import (
    array_record,
    config_record,
    from_record,
    metrics,
    number,
    text,
    texts,
    to_record,
)
from edgeward.models import FeatureStats, ModelSpec, TrainConfig

limit_torch_threads()  # the SuperNode running this app shares the cores with the agent

app = ClientApp()


def site_of(context: Context) -> tuple[Path, str]:
    """Return this node's data folder and site name."""
    node = context.node_config
    if fp.NODE_DATA_DIR in node:
        data_dir = Path(str(node[fp.NODE_DATA_DIR]))
        return data_dir, str(node.get(fp.NODE_SITE, data_dir.name))
    run = context.run_config
    fleet = str(run.get(fp.RUN_FLEET_DIR, ""))
    if not fleet or fp.NODE_PARTITION not in node:
        raise ValueError("the node config names no data-dir, and the run no fleet-dir")
    partition = int(number(node, fp.NODE_PARTITION))
    site = f"site-{partition:04d}"
    data_dir = Path(fleet) / site
    # Flower's simulation engine: this virtual site makes its own history on first use.
    ensure_simulated_site(
        data_dir,
        SimulatedHistory(
            site=site,
            seed=partition,
            sources=int(number(run, fp.SIM_SOURCES, 4)),
            days=number(run, fp.SIM_DAYS, 2.0),
            step_s=number(run, fp.SIM_STEP_S, 300.0),
            anomaly_rate=number(run, fp.SIM_ANOMALY_RATE, 0.015),
            end_ts=number(run, fp.SIM_END_TS) or None,
        ),
    )
    return data_dir, site


def _spec_and_stats(config: ConfigRecord) -> tuple[ModelSpec, FeatureStats]:
    spec = ModelSpec.from_dict(json.loads(text(config, fp.SPEC)))
    stats = FeatureStats.from_dict(json.loads(text(config, fp.FEATURE_STATS)), spec.features)
    return spec, stats


def _prepared(config: ConfigRecord, context: Context) -> tuple[ModelSpec, PreparedData]:
    spec, stats = _spec_and_stats(config)
    data_dir, _site = site_of(context)
    store = open_store(data_dir)
    try:
        return spec, prepare(
            store,
            spec=spec,
            stats=stats,
            cutoff_ms=int(number(config, fp.CUTOFF_MS)),
            holdout_fraction=number(config, fp.HOLDOUT_FRACTION),
        )
    finally:
        store.close()


@app.query("stats")
def query_stats(message: Message, context: Context) -> Message:
    """Describe the data up to the cut-off and return federated normalisation statistics."""
    config = config_record(message, fp.CONFIG)
    data_dir, site = site_of(context)
    store = open_store(data_dir)
    try:
        summary, stats = site_statistics(
            store,
            site=site,
            features=texts(config, fp.FEATURES),
            cutoff_ms=int(number(config, fp.CUTOFF_MS)),
            window=int(number(config, fp.WINDOW)),
            holdout_fraction=number(config, fp.HOLDOUT_FRACTION),
            hold_reason=text(config, fp.HOLD_REASON),
        )
    finally:
        store.close()
    content = RecordDict(
        {
            fp.SITE: ConfigRecord(summary.to_config()),
            fp.STATS: metrics(stats.to_dict()),
        }
    )
    return Message(content=content, reply_to=message)


@app.train()
def train(message: Message, context: Context) -> Message:
    """Train from the received weights on the site's windows; reply weights and metrics."""
    config = config_record(message, fp.CONFIG)
    spec, prepared = _prepared(config, context)
    arrays, trained = train_locally(
        prepared,
        spec=spec,
        arrays=from_record(array_record(message, fp.ARRAYS)),
        config=TrainConfig(
            epochs=int(number(config, fp.EPOCHS)),
            batch_size=int(number(config, fp.BATCH_SIZE)),
            lr=number(config, fp.LEARNING_RATE),
            proximal_mu=number(config, fp.PROXIMAL_MU, 0.0),
            seed=int(number(config, fp.SEED, 0)),
        ),
    )
    content = RecordDict({fp.ARRAYS: to_record(arrays), fp.METRICS: metrics(trained)})
    return Message(content=content, reply_to=message)


@app.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    """Evaluate the challenger (and the champion) on the same holdout windows."""
    config = config_record(message, fp.CONFIG)
    spec, prepared = _prepared(config, context)
    _data_dir, site = site_of(context)
    champion = None
    if fp.CHAMPION in message.content:
        champion_spec = ModelSpec.from_dict(json.loads(text(config, fp.CHAMPION_SPEC)))
        champion = (champion_spec, from_record(array_record(message, fp.CHAMPION)))
    result = evaluate_candidates(
        prepared,
        site=site,
        spec=spec,
        challenger=from_record(array_record(message, fp.CHALLENGER)),
        champion=champion,
    )
    content = RecordDict(
        {
            fp.METRICS: metrics(result.to_metrics()),
            fp.SITE: ConfigRecord({"site": site}),
        }
    )
    return Message(content=content, reply_to=message)
