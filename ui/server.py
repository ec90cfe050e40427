"""Run the control plane and its dashboard in one process until SIGTERM or SIGINT.

The control plane (agents' server, rollout engine, approvals, registry intake) runs in its own
threads; the dashboard's web server (uvicorn under NiceGUI) runs in the main thread over its
own connection to the same database (`open_local`). Uvicorn catches SIGTERM and SIGINT, shuts
the web server down gracefully and then raises the signal again: the handler installed here
absorbs that second delivery, so the process goes on to stop the control plane and exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

from control_plane.local import open_local
from control_plane.operations import Operations
from control_plane.service import ControlPlane
from control_plane.settings import ControlSettings
from edgeward.errors import SettingsError

log = logging.getLogger(__name__)

# NiceGUI takes a process whose environment names a running pytest test for its own test
# harness (a fixed port, no middleware); a control plane a test starts inherits the variable
# but is a real server.
_PYTEST_MARKER = "PYTEST_CURRENT_TEST"


def dashboard_url(settings: ControlSettings) -> str:
    """Return the address people open the dashboard at."""
    host = settings.dashboard.host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.dashboard.port}/"


def check_port(host: str, port: int) -> None:
    """Raise `SettingsError` with a sentence if nothing could listen on `host:port`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise SettingsError(
                f"the dashboard cannot listen on {host}:{port} ({err.strerror}); choose another "
                "[control.dashboard] port or --dashboard-port, or pass --no-dashboard"
            ) from err


def _advise_first_admin(operations: Operations, config: Path | None) -> None:
    if operations.accounts.list():
        return
    where = f" --config {config}" if config is not None else ""
    log.warning(
        "no dashboard account exists yet: create the first admin on this host with "
        "`edgeward users add NAME --role admin%s` (it prints the password once)",
        where,
    )


def serve_with_dashboard(
    settings: ControlSettings, *, config: Path | None, flags: dict[str, object]
) -> None:
    """Serve agents and the dashboard until SIGTERM or SIGINT; stop both cleanly."""
    from ui.app import serve  # NiceGUI loads only when the dashboard is wanted

    dashboard = settings.dashboard
    check_port(dashboard.host, dashboard.port)
    os.environ.pop(_PYTEST_MARKER, None)
    stopping = threading.Event()

    def absorb(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()  # before uvicorn runs, or its re-raise after a graceful shutdown

    signal.signal(signal.SIGTERM, absorb)
    signal.signal(signal.SIGINT, absorb)
    operations = Operations(open_local(config, flags))
    plane = ControlPlane(settings)
    plane.start()
    try:
        _advise_first_admin(operations, config)
        if stopping.is_set():
            return
        log.info("dashboard serving on %s", dashboard_url(settings))
        serve(operations, host=dashboard.host, port=dashboard.port, state_dir=settings.state_dir)
    finally:
        plane.stop()
        log.info("control plane and dashboard stopped")
