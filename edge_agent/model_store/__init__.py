"""The agent's models: verified, activated atomically, with the last known good kept."""

from edge_agent.model_store.activation import (
    ActivationRefused,
    ActivationResult,
    activate_bundle,
    install_bundle,
    switch_to_bundle,
)
from edge_agent.model_store.store import InstalledModel, ModelStore

__all__ = [
    "ActivationRefused",
    "ActivationResult",
    "InstalledModel",
    "ModelStore",
    "activate_bundle",
    "install_bundle",
    "switch_to_bundle",
]
