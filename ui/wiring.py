"""The control plane's operations the pages of this process call (set once at start)."""

from __future__ import annotations

from control_plane.operations import Operations
from control_plane.settings import DashboardSettings

_bound: list[Operations] = []


def bind(operations: Operations) -> None:
    """Make `operations` the service layer every page calls."""
    _bound[:] = [operations]


def operations() -> Operations:
    """Return the service layer bound at start."""
    if not _bound:
        raise RuntimeError("the dashboard was started without its operations")
    return _bound[0]


def dashboard_settings() -> DashboardSettings:
    """Return the dashboard's settings."""
    return operations().plane.settings.dashboard
