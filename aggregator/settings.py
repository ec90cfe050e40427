"""The aggregator's settings: the SuperLink it runs and the challengers it trains.

Keys live in the `[aggregator]` table of a TOML file; each can be overridden by
`EDGEWARD_AGGREGATOR__<KEY>` (nesting with `__`) or a flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edgeward.settings import load_settings

ROLE = "aggregator"


class ChallengerSettings(BaseModel):
    """One challenger configuration: a name and run-config overrides (kebab-case keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    model: str = "mlp"
    strategy: str = "fedavg"
    rounds: int = Field(default=3, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)

    def run_config(self) -> dict[str, Any]:
        """Return this challenger's run-config overrides."""
        return {
            "challenger": self.name,
            "model": self.model,
            "strategy": self.strategy,
            "rounds": self.rounds,
            **self.options,
        }


class AggregatorSettings(BaseModel):
    """Everything `edgeward aggregator serve` needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state_dir: Path
    registry_dir: Path
    host: str = "127.0.0.1"
    port: int = Field(default=9093, ge=1, le=65535)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    supernode_auth: bool = False
    supernode_keys_dir: Path | None = None
    interval_s: float = Field(default=600.0, gt=0)
    min_new_rows: int = Field(default=0, ge=0)
    min_nodes: int = Field(default=2, ge=1)
    run_timeout_s: float = Field(default=3600.0, gt=0)
    log_level: str = "INFO"
    challengers: tuple[ChallengerSettings, ...] = (ChallengerSettings(name="mlp-fedavg"),)

    @model_validator(mode="after")
    def _tls_is_complete(self) -> AggregatorSettings:
        if not self.insecure and None in (self.ca_file, self.cert_file, self.key_file):
            raise ValueError(
                "ca_file, cert_file and key_file are needed for TLS (or set insecure = true)"
            )
        if self.supernode_auth and self.supernode_keys_dir is None:
            raise ValueError("supernode_auth needs supernode_keys_dir (enrolled public keys)")
        names = [c.name for c in self.challengers]
        if len(set(names)) != len(names):
            raise ValueError("challenger names must be unique")
        return self

    @property
    def address(self) -> str:
        """Return host:port of the SuperLink."""
        return f"{self.host}:{self.port}"


def load_aggregator_settings(
    config_file: Path | None = None, flags: dict[str, object] | None = None
) -> AggregatorSettings:
    """Load and validate the aggregator's settings (raises `SettingsError` with one line)."""
    return load_settings(AggregatorSettings, role=ROLE, config_file=config_file, flags=flags)
