"""What the aggregator's ServerApp and the agents' ClientApp say to each other over Flower.

One place for the message types, record names and config keys, and for turning the values
that cross (site descriptions, per-site evaluations) into Flower records and back. Both
sides import this module; neither imports the other.

Messages, all carried by Flower's Message API:

- `query.stats`: the server fixes a data cut-off; each site answers with federated
  normalisation statistics (per-feature count, sum, sum of squares) and a description of the
  data it will train on (rows, time range, fingerprint), and holds that data from retention.
- `train` (Flower strategies' own message): weights and a config in; trained weights and
  metrics out. The reply also carries the holdout error of the weights it received, so that a
  round needs no separate evaluation message (each message costs a poll and a process start).
- `evaluate`: the challenger's (and the champion's) weights in; each one's holdout metrics on
  the same site data out, so the two are compared on exactly the same windows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

QUERY_STATS: Final = "query.stats"
TRAIN: Final = "train"
EVALUATE: Final = "evaluate"

# Record names inside a message's RecordDict.
ARRAYS: Final = "arrays"
CHALLENGER: Final = "challenger"
CHAMPION: Final = "champion"
CONFIG: Final = "config"
METRICS: Final = "metrics"
SITE: Final = "site"
STATS: Final = "stats"

# Keys of the "config" record the server sends.
CUTOFF_MS: Final = "cutoff-ms"
SPEC: Final = "model-spec"  # JSON text of the model spec
FEATURE_STATS: Final = "feature-stats"  # JSON text of the merged normalisation statistics
EPOCHS: Final = "epochs"
BATCH_SIZE: Final = "batch-size"
LEARNING_RATE: Final = "lr"
PROXIMAL_MU: Final = "proximal-mu"  # written by Flower's FedProx
SEED: Final = "seed"
HOLD_REASON: Final = "hold-reason"
HOLDOUT_FRACTION: Final = "holdout-fraction"
FEATURES: Final = "features"
CHAMPION_SPEC: Final = "champion-spec"  # JSON text of the champion's model spec
WINDOW: Final = "window"

# Keys of the "metrics" record a site returns.
NUM_EXAMPLES: Final = "num-examples"  # the weight of a reply in FedAvg and its relatives
TRAIN_LOSS: Final = "train-loss"
RECEIVED_MAE: Final = "received-holdout-mae"
TRAINED_MAE: Final = "trained-holdout-mae"
TRAIN_SECONDS: Final = "train-seconds"

# Node config keys (set by `edgeward agent run` when it starts the SuperNode, or by the
# simulation engine's partition id).
NODE_DATA_DIR: Final = "data-dir"
NODE_SITE: Final = "site"
NODE_PARTITION: Final = "partition-id"
RUN_FLEET_DIR: Final = "fleet-dir"
# Run config of simulated fleets: how much history each virtual site makes for itself.
SIM_DAYS: Final = "sim-days"
SIM_STEP_S: Final = "sim-step-s"
SIM_SOURCES: Final = "sim-sources"
SIM_END_TS: Final = "sim-end-ts"
SIM_ANOMALY_RATE: Final = "sim-anomaly-rate"


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteDataSummary:
    """What a site says about the data it trains on: the lineage of a model, per site."""

    site: str
    rows: int
    sources: int
    first_ts_ms: int
    last_ts_ms: int
    fingerprint: str
    schema_hash: str
    windows_train: int
    windows_holdout: int
    labelled: bool
    quarantined: int = 0

    def to_config(self) -> dict[str, Any]:
        """Return the values for a Flower ConfigRecord."""
        return asdict(self)

    @classmethod
    def from_config(cls, record: Any) -> SiteDataSummary:
        """Read a summary back from a ConfigRecord (or any mapping)."""
        values = dict(record)
        return cls(
            site=str(values["site"]),
            rows=int(values["rows"]),
            sources=int(values["sources"]),
            first_ts_ms=int(values["first_ts_ms"]),
            last_ts_ms=int(values["last_ts_ms"]),
            fingerprint=str(values["fingerprint"]),
            schema_hash=str(values["schema_hash"]),
            windows_train=int(values["windows_train"]),
            windows_holdout=int(values["windows_holdout"]),
            labelled=bool(values["labelled"]),
            quarantined=int(values.get("quarantined", 0)),
        )


@dataclass(kw_only=True, slots=True, frozen=True)
class SiteEvaluation:
    """One site's holdout metrics for the challenger and, when there is one, the champion."""

    site: str
    examples: int
    challenger_mae: float
    champion_mae: float | None = None
    challenger_auroc: float | None = None
    champion_auroc: float | None = None
    challenger_f1: float | None = None
    champion_f1: float | None = None

    def to_metrics(self) -> dict[str, float]:
        """Return the numeric values for a Flower MetricRecord (absent values left out)."""
        values = asdict(self)
        values.pop("site")
        return {key: float(value) for key, value in values.items() if value is not None}

    @classmethod
    def from_metrics(cls, site: str, record: Any) -> SiteEvaluation:
        """Read an evaluation back from a MetricRecord (or any mapping)."""
        values = dict(record)

        def optional(key: str) -> float | None:
            return float(values[key]) if key in values else None

        return cls(
            site=site,
            examples=int(values["examples"]),
            challenger_mae=float(values["challenger_mae"]),
            champion_mae=optional("champion_mae"),
            challenger_auroc=optional("challenger_auroc"),
            champion_auroc=optional("champion_auroc"),
            challenger_f1=optional("challenger_f1"),
            champion_f1=optional("champion_f1"),
        )
