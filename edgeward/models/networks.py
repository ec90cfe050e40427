"""The forecasters themselves: torch modules built from a `ModelSpec`.

Every model maps a batch of normalised windows (batch, window, features) to the normalised
next step of every feature (batch, features). Parameter names and shapes depend only on the
spec, so weights from one site load into a model built from the same spec anywhere.
"""

from __future__ import annotations

import torch
from torch import nn

from edgeward.models.spec import ModelSpec


class MlpForecaster(nn.Module):
    """Flatten the window, apply `layers` ReLU layers of `hidden` units, then a linear head."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        width = len(spec.features)
        blocks: list[nn.Module] = [nn.Flatten()]
        inputs = spec.window * width
        for _ in range(spec.layers):
            blocks += [nn.Linear(inputs, spec.hidden), nn.ReLU()]
            if spec.dropout > 0:
                blocks.append(nn.Dropout(spec.dropout))
            inputs = spec.hidden
        self.body = nn.Sequential(*blocks)
        self.head = _head(inputs, width, residual=spec.residual)
        self.residual = spec.residual
        self.clip = spec.clip

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Return the next step of every feature for each window."""
        out: torch.Tensor = self.head(self.body(windows.clamp(-self.clip, self.clip)))
        return out + windows[:, -1, :] if self.residual else out


class GruForecaster(nn.Module):
    """Run a GRU over the window and map its last hidden state to the next step."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        width = len(spec.features)
        self.gru = nn.GRU(
            input_size=width,
            hidden_size=spec.hidden,
            num_layers=spec.layers,
            batch_first=True,
            dropout=spec.dropout if spec.layers > 1 else 0.0,
        )
        self.head = _head(spec.hidden, width, residual=spec.residual)
        self.residual = spec.residual
        self.clip = spec.clip

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Return the next step of every feature for each window."""
        _, hidden = self.gru(windows.clamp(-self.clip, self.clip))
        out: torch.Tensor = self.head(hidden[-1])
        return out + windows[:, -1, :] if self.residual else out


def _head(inputs: int, outputs: int, *, residual: bool) -> nn.Linear:
    """Return the output layer; zero for residual models, which then start as "last value"."""
    head = nn.Linear(inputs, outputs)
    if residual:
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
    return head


def build_model(spec: ModelSpec, *, seed: int | None = None) -> nn.Module:
    """Build the model `spec` describes, initialised from `seed` or torch's global generator.

    With `seed`, initialisation does not touch torch's global random state; without it the
    result is deterministic after `torch.manual_seed`.
    """
    if seed is None:
        return _build(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _build(spec)


def _build(spec: ModelSpec) -> nn.Module:
    model: nn.Module = MlpForecaster(spec) if spec.kind == "mlp" else GruForecaster(spec)
    return model.float()
