"""Move a model's weights to and from a plain dict of numpy arrays (Flower ArrayRecord form).

The dict holds every entry of the model's `state_dict` (parameters and buffers) under the
same names, in the same order, as float32 arrays by default. Loading checks that the names
and shapes are exactly the model's, so weights from a different spec fail with a sentence
that says what differs instead of a torch traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from edgeward.models.errors import ModelError
from edgeward.models.networks import build_model
from edgeward.models.spec import ModelSpec


def state_to_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """Return a copy of the model's state as {name: array}, in `state_dict` order."""
    return {
        name: tensor.detach().cpu().numpy().copy() for name, tensor in model.state_dict().items()
    }


def model_from_arrays(spec: ModelSpec, arrays: Mapping[str, np.ndarray]) -> nn.Module:
    """Build the network `spec` describes straight from `arrays`.

    The skeleton is built on the meta device, so no random initialisation is computed only to
    be overwritten: on an agent activating a 1 MB model that was a fifth of the work.
    """
    with torch.device("meta"):
        model = build_model(spec)
    load_arrays(model, arrays, assign=True)
    return model


def load_arrays(
    model: nn.Module, arrays: Mapping[str, np.ndarray], *, assign: bool = False
) -> None:
    """Load `arrays` into `model`; raise `ModelError` if names or shapes differ.

    With `assign`, the model takes the loaded tensors instead of copying into its own (the
    way to fill a skeleton built on the meta device).
    """
    state = model.state_dict()
    missing = [name for name in state if name not in arrays]
    unexpected = [name for name in arrays if name not in state]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"unexpected {', '.join(unexpected)}"] if unexpected else []
    if problems:
        raise ModelError(f"weights do not fit the model: {'; '.join(problems)}")
    loaded: dict[str, torch.Tensor] = {}
    for name, current in state.items():
        array = np.asarray(arrays[name])
        if tuple(array.shape) != tuple(current.shape):
            raise ModelError(
                f"weights do not fit the model: {name} has shape {tuple(array.shape)}, "
                f"the model expects {tuple(current.shape)}"
            )
        if current.is_floating_point() and not np.all(np.isfinite(array)):
            raise ModelError(f"weights do not fit the model: {name} is not finite")
        loaded[name] = torch.as_tensor(array.copy(), dtype=current.dtype)
    model.load_state_dict(loaded, assign=assign)
