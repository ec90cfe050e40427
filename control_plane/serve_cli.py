"""`edgeward control-plane serve`: run the control plane until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from control_plane.operator_options import ConfigOption
from control_plane.service import ControlPlane
from control_plane.settings import load_control_settings
from edgeward.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def control_plane() -> None:
    """Run the control plane."""


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Serve agents, take in challengers, gate them and run rollouts."""
    settings = load_control_settings(config)
    configure_logging(settings.log_level)
    plane = ControlPlane(settings)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    plane.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        plane.stop()
