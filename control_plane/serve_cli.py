"""`edgeward control-plane serve`: run the control plane and its dashboard until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from control_plane.operator_options import ConfigOption
from control_plane.service import ControlPlane
from control_plane.settings import ControlSettings, load_control_settings
from edgeward.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False)
log = logging.getLogger(__name__)

DashboardPortOption = Annotated[
    int | None,
    typer.Option(
        "--dashboard-port",
        help="Serve the dashboard on this port (default: \\[control.dashboard] port).",
        show_default=False,
    ),
]
NoDashboardOption = Annotated[
    bool,
    typer.Option("--no-dashboard", help="Serve agents only, without the dashboard and API."),
]


@app.callback()
def control_plane() -> None:
    """Run the control plane."""


@app.command()
def serve(
    config: ConfigOption = None,
    dashboard_port: DashboardPortOption = None,
    no_dashboard: NoDashboardOption = False,
) -> None:
    """Serve agents, take in challengers, gate them, run rollouts, and serve the dashboard."""
    flags: dict[str, object] = {
        "dashboard.port": dashboard_port,
        "dashboard.enabled": False if no_dashboard else None,
    }
    settings = load_control_settings(config, flags)
    configure_logging(settings.log_level)
    if settings.dashboard.enabled:
        from ui.server import serve_with_dashboard  # NiceGUI loads only when it is wanted

        serve_with_dashboard(settings, config=config, flags=flags)
    else:
        _serve_agents_only(settings)


def _serve_agents_only(settings: ControlSettings) -> None:
    plane = ControlPlane(settings)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    plane.start()
    log.info("the dashboard is switched off ([control.dashboard] enabled = false)")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        plane.stop()
