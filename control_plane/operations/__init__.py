"""The service layer behind the dashboard and the HTTP API, checked against the role table."""

from control_plane.operations.fleet_ops import OFFLINE_AFTER_HEARTBEATS
from control_plane.operations.service import Operations
from control_plane.operations.views import (
    QUARANTINE_PREFIX,
    FleetSummary,
    Overview,
    ScreenerAccuracy,
    SiteView,
)

__all__ = [
    "OFFLINE_AFTER_HEARTBEATS",
    "QUARANTINE_PREFIX",
    "FleetSummary",
    "Operations",
    "Overview",
    "ScreenerAccuracy",
    "SiteView",
]
