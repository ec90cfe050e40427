"""The model registry: immutable model versions, aliases that name them, and their history.

`ModelRegistry` is the contract; `SqliteRegistry` (shared by processes) and `MemoryRegistry`
(tests) implement it, and `open_registry` picks one. Bundles reach it through the inbox laid
out by `edgeward.bundles.RegistryLayout`.
"""

from control_plane.registry.base import ModelRegistry
from control_plane.registry.factory import RegistryBackend, open_registry
from control_plane.registry.memory_registry import MemoryRegistry
from control_plane.registry.records import AliasMove, ImportReport, ModelVersion, Rejection
from control_plane.registry.sqlite_registry import REGISTRY_DB, SqliteRegistry

__all__ = [
    "REGISTRY_DB",
    "AliasMove",
    "ImportReport",
    "MemoryRegistry",
    "ModelRegistry",
    "ModelVersion",
    "RegistryBackend",
    "Rejection",
    "SqliteRegistry",
    "open_registry",
]
