"""The agent's side of the control-plane link: a CURVE DEALER client and a durable outbox."""

from edge_agent.transport.client import CurveClient, PushHandler
from edge_agent.transport.errors import (
    REFUSED_SENTENCE,
    AgentRefused,
    RequestTimeout,
    TransportError,
)
from edge_agent.transport.outbox import MessageLink, Outbox, OutboxEntry

__all__ = [
    "REFUSED_SENTENCE",
    "AgentRefused",
    "CurveClient",
    "MessageLink",
    "Outbox",
    "OutboxEntry",
    "PushHandler",
    "RequestTimeout",
    "TransportError",
]
