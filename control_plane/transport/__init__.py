"""The control plane's side of the agent link: a CURVE ROUTER with a ZAP handler."""

from control_plane.transport.admission import AdmissionCache, Admit
from control_plane.transport.errors import TransportError
from control_plane.transport.server import CurveServer, Handler
from control_plane.transport.stats import ServerStats
from control_plane.transport.zap import ZAP_DOMAIN

__all__ = [
    "ZAP_DOMAIN",
    "AdmissionCache",
    "Admit",
    "CurveServer",
    "Handler",
    "ServerStats",
    "TransportError",
]
