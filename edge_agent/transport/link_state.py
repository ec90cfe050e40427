"""What the DEALER's socket monitor says about the link: up, refused, or failing to handshake."""

from __future__ import annotations

import logging
import threading
from enum import Enum

import zmq

from edge_agent.transport.errors import REFUSED_SENTENCE
from edgeward.backoff import Backoff

log = logging.getLogger(__name__)

MONITORED_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_DISCONNECTED
)
_HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


class LinkChange(Enum):
    """What a monitor event means for the client."""

    NONE = "none"
    UP = "up"
    """A CURVE handshake succeeded: the link carries messages."""
    REFUSED = "refused"
    """The control plane's ZAP handler refused this agent's key; libzmq will not retry."""


class LinkState:
    """Track `connected` and `refused` from monitor events and log each change once.

    A refusal is logged once per streak, not at every redial, and the redial delay grows
    with jittered exponential backoff until a handshake succeeds.
    """

    def __init__(self, *, endpoint: str, backoff: Backoff) -> None:
        self.endpoint = endpoint
        self.connected = threading.Event()
        self.refused = threading.Event()
        self._backoff = backoff
        self._handshake_failure_logged = False

    def on_event(self, event: int) -> LinkChange:
        """Update the state for one monitor event and say what changed."""
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._on_handshake()
            return LinkChange.UP
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self._on_refused()
            return LinkChange.REFUSED
        if event in _HANDSHAKE_FAILED:
            self.connected.clear()
            if not self._handshake_failure_logged:
                self._handshake_failure_logged = True
                log.error(
                    "the CURVE handshake with the control plane at %s failed: check that this "
                    "agent pins the control plane's current public key",
                    self.endpoint,
                )
        elif event == zmq.EVENT_DISCONNECTED and self.connected.is_set():
            self.connected.clear()
            log.warning("lost the connection to the control plane; reconnecting")
        return LinkChange.NONE

    def redial_delay(self) -> float:
        """Return how long to wait before dialling again after a refusal."""
        return self._backoff.next_delay()

    def _on_handshake(self) -> None:
        if self.refused.is_set():
            log.info("the control plane accepts this agent's key again")
        log.info("connected to the control plane at %s", self.endpoint)
        self.refused.clear()
        self._handshake_failure_logged = False
        self._backoff.reset()
        self.connected.set()

    def _on_refused(self) -> None:
        self.connected.clear()
        if not self.refused.is_set():
            log.error("%s", REFUSED_SENTENCE)
            self.refused.set()
