"""What can go wrong on the agent's link to the control plane."""

from __future__ import annotations

from edgeward.errors import ConnectionFailed

REFUSED_SENTENCE = "the control plane refused this agent's key: it is not enrolled or was revoked"


class TransportError(ConnectionFailed):
    """The agent cannot talk to the control plane (not running, stopped, queue full)."""


class RequestTimeout(TransportError):
    """The control plane did not answer a request in time (offline, slow or dropped)."""


class AgentRefused(TransportError):
    """The control plane refused this agent's CURVE key during the handshake."""

    def __init__(self, message: str = REFUSED_SENTENCE) -> None:
        super().__init__(message)
