"""The control plane's exceptions; each message is a sentence fit to show as is."""

from __future__ import annotations

from edgeward.errors import EdgewardError


class ControlPlaneError(EdgewardError):
    """Base of the control plane's expected failures."""

    exit_code = 8


class RegistryError(ControlPlaneError):
    """The model registry cannot do what was asked (bad argument, unreadable index)."""


class VersionNotFound(RegistryError):
    """No registered model has this version."""
