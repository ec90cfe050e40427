"""What can go wrong in the control plane's ZeroMQ transport."""

from __future__ import annotations

from control_plane.errors import ControlPlaneError


class TransportError(ControlPlaneError):
    """The ZeroMQ server cannot start (bad key, address in use) or is used wrongly."""
