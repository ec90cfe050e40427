"""Train a forecaster on local windows, optionally held near global weights (FedProx).

The loss is the Huber loss (delta 1) on normalised targets, averaged over the observed
entries only: residuals beyond one standard deviation (injected faults, outages) pull
linearly rather than quadratically, so a few anomalies in the training data do not dominate.
The optimiser is AdamW (plain Adam when `weight_decay` is 0). Shuffling and dropout draw
from `seed` inside a forked torch random state, so a run is reproducible and leaves the
caller's global generator untouched. The caller sets the thread count.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from edgeward.models.errors import ModelError
from edgeward.models.inference import WindowBatches
from edgeward.models.windows import WindowSet


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """How to train one round.

    `proximal_mu` > 0 adds FedProx's mu/2 * ||w - w_start||^2, with w_start the weights the
    model had when `train_model` was called (the global model of the round). `max_batches`
    caps the optimiser steps over all epochs, bounding a round's time on a slow site;
    `max_grad_norm` clips the gradient norm (0 turns clipping off).
    """

    epochs: int = 1
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    proximal_mu: float = 0.0
    seed: int = 0
    max_batches: int | None = None
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        counts = {"epochs": self.epochs, "batch_size": self.batch_size, "seed": self.seed}
        if self.max_batches is not None:
            counts["max_batches"] = self.max_batches
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise ModelError(f"invalid training config: {name} must be an integer")
        checks = (
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (self.weight_decay >= 0, "weight_decay must not be negative"),
            (self.proximal_mu >= 0, "proximal_mu must not be negative"),
            (self.seed >= 0, "seed must not be negative"),
            (self.max_batches is None or self.max_batches >= 1, "max_batches must be >= 1"),
            (self.max_grad_norm >= 0, "max_grad_norm must not be negative"),
        )
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ModelError(f"invalid training config: {'; '.join(problems)}")

    def to_dict(self) -> dict[str, int | float]:
        """Return a flat dict of numbers (fits a Flower ConfigRecord); no max_batches if None."""
        data = asdict(self)
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Rebuild a config from `to_dict` output; missing keys take their defaults."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ModelError(f"invalid training config: unknown key(s) {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise ModelError(f"invalid training config: {err}") from err


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainReport:
    """What a training run did.

    `examples` is the number of distinct training windows (the weight FedAvg should use);
    `samples` counts the windows processed over all epochs. `mean_loss` is the mean Huber
    loss of the batches, without the proximal term.
    """

    examples: int
    samples: int
    batches: int
    mean_loss: float
    seconds: float

    @property
    def samples_per_s(self) -> float:
        """Return the training throughput."""
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, int | float]:
        """Return a flat dict of numbers (fits a Flower MetricRecord)."""
        return asdict(self)


def train_model(model: nn.Module, train_windows: WindowSet, config: TrainConfig) -> TrainReport:
    """Train `model` in place on `train_windows` and report what was done.

    With no windows the model is left as it is and the report counts nothing.
    """
    started = time.perf_counter()
    total = len(train_windows)
    if total == 0:
        return TrainReport(examples=0, samples=0, batches=0, mean_loss=0.0, seconds=0.0)
    batches = WindowBatches(train_windows)
    params = [p for p in model.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in params] if config.proximal_mu > 0 else []
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    limit = config.max_batches if config.max_batches is not None else -1
    steps, samples, loss_sum = 0, 0, 0.0
    was_training = model.training
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            shuffle = torch.Generator().manual_seed(config.seed)
            for _ in range(config.epochs):
                order = torch.randperm(total, generator=shuffle)
                for index in torch.split(order, config.batch_size):
                    if steps == limit:
                        break
                    loss = _step(model, batches, index, optimiser, params, anchor, config)
                    steps, samples, loss_sum = steps + 1, samples + len(index), loss_sum + loss
    finally:
        model.train(was_training)
    return TrainReport(
        examples=total,
        samples=samples,
        batches=steps,
        mean_loss=loss_sum / steps if steps else 0.0,
        seconds=time.perf_counter() - started,
    )


def _step(
    model: nn.Module,
    batches: WindowBatches,
    index: torch.Tensor,
    optimiser: torch.optim.Optimizer,
    params: list[nn.Parameter],
    anchor: list[torch.Tensor],
    config: TrainConfig,
) -> float:
    """Take one optimiser step on the windows at `index`; return the batch's data loss."""
    targets, observed = batches.targets(index)
    forecast = model(batches.inputs(index))
    error = nn.functional.huber_loss(forecast, targets, reduction="none", delta=1.0)
    loss = (error * observed).sum() / observed.sum().clamp(min=1)
    total = loss
    if anchor:
        drift = torch.stack([((p - a) ** 2).sum() for p, a in zip(params, anchor, strict=True)])
        total = loss + 0.5 * config.proximal_mu * drift.sum()
    optimiser.zero_grad(set_to_none=True)
    torch.autograd.backward(total)
    if config.max_grad_norm > 0:
        nn.utils.clip_grad_norm_(params, config.max_grad_norm)
    optimiser.step()
    return float(loss.detach())
