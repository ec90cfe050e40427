"""Tensors in and out of `weights.safetensors`, always as numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeAlias

import numpy as np
from numpy.typing import NDArray
from safetensors import SafetensorError
from safetensors.numpy import load, save

from edgeward.bundles.errors import BundleCorrupt, TensorError


class DetachableTensor(Protocol):
    """What the writer needs of a torch tensor (so that this module never imports torch)."""

    def detach(self) -> Any:
        """Return the tensor without its autograd history."""


TensorLike: TypeAlias = NDArray[Any] | DetachableTensor
"""A numpy array or a torch tensor."""


def as_numpy_arrays(arrays: Mapping[str, TensorLike]) -> dict[str, NDArray[Any]]:
    """Convert numpy arrays and torch tensors into contiguous numpy arrays, by name."""
    if not arrays:
        raise TensorError("a bundle needs at least one tensor")
    converted: dict[str, NDArray[Any]] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise TensorError(f"tensor names must be non-empty strings, not {name!r}")
        converted[name] = np.ascontiguousarray(_as_numpy(name, value))
    return converted


def encode_weights(arrays: Mapping[str, NDArray[Any]]) -> bytes:
    """Serialise numpy arrays to safetensors bytes."""
    try:
        return save(dict(arrays))
    except (SafetensorError, ValueError, TypeError) as err:
        raise TensorError(f"the tensors cannot be stored as safetensors: {err}") from err


def decode_weights(data: bytes, *, source: str) -> dict[str, NDArray[Any]]:
    """Parse safetensors bytes into numpy arrays; `source` names the file in errors."""
    try:
        return load(data)
    except (SafetensorError, ValueError) as err:
        raise BundleCorrupt(f"{source} is not a readable safetensors file: {err}") from err


def _as_numpy(name: str, value: object) -> NDArray[Any]:
    if isinstance(value, np.ndarray):
        return value
    detach = getattr(value, "detach", None)
    if callable(detach):
        try:
            array = detach().cpu().numpy()
        except (TypeError, RuntimeError) as err:
            raise TensorError(f"tensor {name!r} cannot be converted to numpy: {err}") from err
        if isinstance(array, np.ndarray):
            return array
    raise TensorError(f"tensor {name!r} is a {type(value).__name__}, not an array or tensor")
