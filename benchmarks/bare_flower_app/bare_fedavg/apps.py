"""The bare Flower app: FedAvg's stock train/evaluate rounds over the same MLP and stores."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from edge_agent.learning.local_learning import feature_series, open_store
from edge_agent.learning.site_data import load_site_data
from edgeward.models import (
    FeatureStats,
    ModelSpec,
    TrainConfig,
    build_model,
    evaluate_model,
    make_windows,
    split_by_time,
    train_model,
)
from edgeward.schema import load_schema

torch.set_num_threads(1)
SPEC = ModelSpec(kind="mlp", features=load_schema().feature_names)
client = ClientApp()
server = ServerApp()


def _windows(context: Context):  # type: ignore[no-untyped-def]
    store = open_store(Path(str(context.node_config["data-dir"])))
    data = load_site_data(store, SPEC.features, cutoff_ms=int(time.time() * 1000))
    store.close()
    stats = FeatureStats.empty(SPEC.features)
    for series in data.series:
        stats = stats.merge(FeatureStats.compute(SPEC.features, series.values))
    return split_by_time(make_windows(feature_series(data), stats=stats, window=SPEC.window))


@client.train()
def train(message: Message, context: Context) -> Message:
    """Train one epoch from the received weights."""
    model = build_model(SPEC)
    model.load_state_dict(message.content["arrays"].to_torch_state_dict())
    train_windows, _ = _windows(context)
    report = train_model(model, train_windows, TrainConfig(epochs=1, batch_size=128, lr=0.003))
    content = RecordDict(
        {
            "arrays": ArrayRecord(model.state_dict()),
            "metrics": MetricRecord({"num-examples": report.examples}),
        }
    )
    return Message(content=content, reply_to=message)


@client.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    """Evaluate the received weights on the holdout."""
    model = build_model(SPEC)
    model.load_state_dict(message.content["arrays"].to_torch_state_dict())
    _, holdout = _windows(context)
    result = evaluate_model(model, holdout)
    content = RecordDict(
        {"metrics": MetricRecord({"num-examples": result.examples, "mae": result.mae})}
    )
    return Message(content=content, reply_to=message)


@server.main()
def main(grid: Grid, context: Context) -> None:
    """Run FedAvg for the configured rounds and write how long they took."""
    rounds = int(context.run_config["rounds"])
    nodes = int(context.run_config["min-nodes"])
    strategy = FedAvg(min_train_nodes=nodes, min_evaluate_nodes=nodes, min_available_nodes=nodes)
    started = time.perf_counter()
    strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord(build_model(SPEC, seed=0).state_dict()),
        num_rounds=rounds,
    )
    elapsed = time.perf_counter() - started
    Path(str(context.run_config["result-file"])).write_text(
        json.dumps({"rounds": rounds, "seconds": elapsed})
    )
