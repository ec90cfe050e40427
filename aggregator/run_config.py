"""A training run's configuration, read from Flower's run config (flat, kebab-case keys).

The defaults live in `aggregator/flower_app/pyproject.toml`; `edgeward aggregator serve`
overrides them per challenger with `flwr run --run-config`. Values are validated here so that
a bad configuration fails the run at once with a sentence, not halfway through a round.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgeward.errors import SettingsError


class RunConfig(BaseModel):
    """Everything one run of the ServerApp needs."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    challenger: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    model: Literal["mlp", "gru"] = "mlp"
    strategy: str = "fedavg"
    rounds: int = Field(default=3, ge=1, le=1000)
    epochs: int = Field(default=1, ge=1, le=100)
    lr: float = Field(default=0.003, gt=0)
    batch_size: int = Field(default=128, ge=1, alias="batch-size")
    window: int = Field(default=32, ge=2, le=1024)
    hidden: int = Field(default=64, ge=1, le=4096)
    score_horizon: int = Field(default=1, ge=1, alias="score-horizon")
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1, alias="holdout-fraction")
    proximal_mu: float = Field(default=0.1, ge=0, alias="proximal-mu")
    num_malicious_nodes: int = Field(default=1, ge=0, alias="num-malicious-nodes")
    beta: float = Field(default=0.2, ge=0, lt=0.5)
    server_lr: float = Field(default=0.01, gt=0, alias="server-lr")
    dp: Literal["none", "fixed", "adaptive"] = "none"
    dp_noise_multiplier: float = Field(default=0.1, ge=0, alias="dp-noise-multiplier")
    dp_clipping_norm: float = Field(default=10.0, gt=0, alias="dp-clipping-norm")
    min_nodes: int = Field(default=2, ge=1, alias="min-nodes")
    node_wait_s: float = Field(default=120.0, ge=0, alias="node-wait-s")
    round_timeout_s: float = Field(default=600.0, gt=0, alias="round-timeout-s")
    min_new_rows: int = Field(default=0, ge=0, alias="min-new-rows")
    previous_total_rows: int = Field(default=0, ge=0, alias="previous-total-rows")
    seed: int = 0
    features: str = ""  # comma-separated metric names; empty: every metric of the schema
    registry_dir: str = Field(default="", alias="registry-dir")
    state_dir: str = Field(default="", alias="state-dir")
    fleet_dir: str = Field(default="", alias="fleet-dir")

    @classmethod
    def from_flower(cls, run_config: Mapping[str, Any]) -> RunConfig:
        """Validate Flower's run config; a bad value raises `SettingsError` naming the key."""
        try:
            return cls.model_validate(dict(run_config))
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise SettingsError(f"run config '{key}': {first['msg']}") from err

    def feature_names(self, schema_features: tuple[str, ...]) -> tuple[str, ...]:
        """Return the model's features: the configured ones, or all the schema has."""
        if not self.features:
            return schema_features
        chosen = tuple(name.strip() for name in self.features.split(",") if name.strip())
        unknown = sorted(set(chosen) - set(schema_features))
        if unknown:
            raise SettingsError(f"run config 'features': not in the schema: {', '.join(unknown)}")
        return chosen

    @property
    def registry(self) -> Path | None:
        """Return the registry root, or None when runs are not registered anywhere."""
        return Path(self.registry_dir) if self.registry_dir else None

    @property
    def state(self) -> Path | None:
        """Return where run outcomes are written for the service, if anywhere."""
        return Path(self.state_dir) if self.state_dir else None

    def hyperparameters(self) -> dict[str, Any]:
        """Return the knobs that shape the model, for its lineage."""
        return self.model_dump(
            by_alias=True,
            exclude={
                "registry_dir",
                "state_dir",
                "fleet_dir",
                "previous_total_rows",
                "node_wait_s",
                "round_timeout_s",
                "min_new_rows",
            },
        )
