"""An embedded MQTT broker (amqtt, pure Python) for the demo when no broker is given.

amqtt speaks MQTT 3.1.1 and is far slower than mosquitto (measured: 1.7k msg/s at QoS 1),
which is plenty for a demo; a real deployment points the agents at its own broker.

Clients are admitted by `broker_auth.LoopbackAuthPlugin`, not amqtt's anonymous plugin: amqtt keeps
QoS 1 messages for a persistent session that is offline only when the session is not
anonymous, and its anonymous plugin marks every client anonymous. With it, everything
published while an agent restarted or its link was down was dropped by the broker (found
by `--chaos`: 227 acknowledged messages of one site lost over an agent kill and a link drop).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """Run an amqtt broker on 127.0.0.1 in a background thread with its own event loop."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="amqtt", daemon=True)
        self._broker: Any = None

    @property
    def url(self) -> str:
        """Return the broker URL for agents and simulators."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it listens."""
        from amqtt.broker import Broker  # imported here: only the demo needs amqtt

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"edgeward.demo.broker_auth.LoopbackAuthPlugin": {}},
        }
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._thread.start()
        self._broker = Broker(config, loop=self._loop)
        asyncio.run_coroutine_threadsafe(self._broker.start(), self._loop).result(30)
        log.info("embedded MQTT broker listening on %s", self.url)

    def stop(self) -> None:
        """Shut the broker down and end its thread.

        amqtt's shutdown can wait forever on its broadcast loop once clients are gone; after
        a grace period the loop is stopped anyway (the broker keeps no state worth saving).
        """
        if self._broker is not None:
            logging.getLogger("amqtt").setLevel(logging.CRITICAL)
            shutdown = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            try:
                shutdown.result(SHUTDOWN_GRACE_S)
            except TimeoutError:
                log.info("the embedded broker did not shut down in time; stopping it")
                shutdown.cancel()
            self._broker = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
