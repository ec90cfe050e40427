"""How the embedded broker admits clients: all of them, as known (not anonymous) clients.

The broker listens on 127.0.0.1 only, for the demo's own processes. What matters is that
amqtt queues QoS 1 messages for an offline persistent session only when the session is not
anonymous (see `edgeward.demo.broker`). Loaded by amqtt from its dotted path.
"""

from __future__ import annotations

from dataclasses import dataclass

from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session


class LoopbackAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped
    """Admit every client of the loopback broker as a known one."""

    @dataclass
    class Config:
        """No options: every client on loopback is admitted."""

    async def authenticate(self, *, session: Session) -> bool:
        """Admit the client; its persistent session keeps what is published while offline."""
        return True
