"""The ZAP handler: admit a CURVE handshake only for an enrolled, non-revoked agent key."""

from __future__ import annotations

import logging

import zmq
from zmq.auth.thread import ThreadAuthenticator

from control_plane.transport.admission import AdmissionCache

log = logging.getLogger(__name__)

ZAP_DOMAIN = "edgeward"
"""The ZAP domain of the server socket. "*" is not a wildcard in ZAP: both sides name it."""


class _FleetCredentials:
    """The credentials provider pyzmq's authenticator calls with each client's Z85 key."""

    def __init__(self, admission: AdmissionCache) -> None:
        self._admission = admission

    def callback(self, domain: str, key: bytes) -> bool:
        """Return whether the key belongs to an enrolled, non-revoked site."""
        site = self._admission.ask(key)
        if site is None:
            log.warning("refused a CURVE handshake from an unknown or revoked key %s", _short(key))
            return False
        log.info("admitted site %s (key %s)", site, _short(key))
        return True


def start_authenticator(
    context: zmq.Context[zmq.Socket[bytes]], admission: AdmissionCache, *, domain: str
) -> ThreadAuthenticator:
    """Start a ZAP handler on `context` that asks `admission` about every CURVE handshake.

    Start it before binding: a CURVE socket with no ZAP handler admits every client.
    """
    authenticator = ThreadAuthenticator(context, log=logging.getLogger("zmq.auth"))
    authenticator.start()
    authenticator.configure_curve_callback(
        domain=domain, credentials_provider=_FleetCredentials(admission)
    )
    return authenticator


def _short(key: bytes) -> str:
    return key[:8].decode("ascii", "replace") + "…"
