"""Flower strategies by name, built from a run's configuration.

A table, not a chain of ifs: each entry says how to build the strategy from the common
options and its own. Robust aggregators (Krum, MultiKrum, trimmed mean, median) resist a few
poisoned sites; the differential-privacy wrappers clip and noise the updates on the server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAdam,
    FedAvg,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    Krum,
    MultiKrum,
    Strategy,
)

from edgeward.errors import SettingsError


@dataclass(kw_only=True, slots=True, frozen=True)
class StrategyOptions:
    """What every strategy needs: how many sites take part, and the strategy's own knobs."""

    name: str
    min_nodes: int
    params: Mapping[str, Any]
    dp: str = "none"  # "none", "fixed" or "adaptive" server-side clipping
    dp_noise_multiplier: float = 0.1
    dp_clipping_norm: float = 10.0


def _common(options: StrategyOptions) -> dict[str, Any]:
    # Evaluation rides in the train reply (see edgeward.fl_protocol), so no strategy sends
    # a separate evaluate message per round.
    return {
        "fraction_train": 1.0,
        "fraction_evaluate": 0.0,
        "min_train_nodes": options.min_nodes,
        "min_evaluate_nodes": 0,
        "min_available_nodes": options.min_nodes,
    }


def _malicious(options: StrategyOptions) -> int:
    return int(options.params.get("num-malicious-nodes", 1))


BUILDERS: dict[str, Callable[[StrategyOptions], Strategy]] = {
    "fedavg": lambda o: FedAvg(**_common(o)),
    "fedprox": lambda o: FedProx(**_common(o), proximal_mu=float(o.params.get("proximal-mu", 0.1))),
    "fedadam": lambda o: FedAdam(
        **_common(o),
        eta=float(o.params.get("server-lr", 0.01)),
        eta_l=float(o.params.get("lr", 0.01)),
    ),
    "krum": lambda o: Krum(**_common(o), num_malicious_nodes=_malicious(o)),
    "multikrum": lambda o: MultiKrum(
        **_common(o),
        num_malicious_nodes=_malicious(o),
        num_nodes_to_select=int(o.params.get("num-nodes-to-select", max(1, o.min_nodes - 2))),
    ),
    "trimmed-mean": lambda o: FedTrimmedAvg(**_common(o), beta=float(o.params.get("beta", 0.2))),
    "median": lambda o: FedMedian(**_common(o)),
}

DP_WRAPPERS: dict[str, Callable[[Strategy, StrategyOptions], Strategy]] = {
    "fixed": lambda s, o: DifferentialPrivacyServerSideFixedClipping(
        s,
        noise_multiplier=o.dp_noise_multiplier,
        clipping_norm=o.dp_clipping_norm,
        num_sampled_clients=o.min_nodes,
    ),
    "adaptive": lambda s, o: DifferentialPrivacyServerSideAdaptiveClipping(
        s,
        noise_multiplier=o.dp_noise_multiplier,
        num_sampled_clients=o.min_nodes,
        initial_clipping_norm=o.dp_clipping_norm,
    ),
}


def build_strategy(options: StrategyOptions) -> Strategy:
    """Return the named strategy, wrapped for differential privacy if asked."""
    builder = BUILDERS.get(options.name)
    if builder is None:
        raise SettingsError(
            f"unknown strategy {options.name!r}; choose one of {', '.join(sorted(BUILDERS))}"
        )
    strategy = builder(options)
    if options.dp == "none":
        return strategy
    wrap = DP_WRAPPERS.get(options.dp)
    if wrap is None:
        raise SettingsError(f"unknown dp mode {options.dp!r}; choose none, fixed or adaptive")
    return wrap(strategy, options)
