"""Open a model registry by backend name."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from control_plane.errors import RegistryError
from control_plane.registry.base import Clock, ModelRegistry
from control_plane.registry.memory_registry import MemoryRegistry
from control_plane.registry.sqlite_registry import SqliteRegistry

RegistryBackend = Literal["sqlite", "memory"]

_OPENERS: dict[str, Callable[..., ModelRegistry]] = {
    "sqlite": SqliteRegistry.open,
    "memory": MemoryRegistry.open,
}


def open_registry(
    root: Path, *, backend: RegistryBackend = "sqlite", clock: Clock = time.time
) -> ModelRegistry:
    """Open the registry at `root` with the chosen index backend."""
    opener = _OPENERS.get(backend)
    if opener is None:
        raise RegistryError(f"unknown registry backend {backend!r}; use one of {sorted(_OPENERS)}")
    return opener(Path(root), clock=clock)
