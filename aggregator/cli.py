"""`edgeward aggregator ...`: run the SuperLink and the challenger schedule, or one run."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from aggregator.service import AggregatorService
from aggregator.settings import load_aggregator_settings
from edgeward.errors import SettingsError
from edgeward.logs import configure_logging

app = typer.Typer(no_args_is_help=True, add_completion=False)
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML settings file (its \\[aggregator] table).", show_default=False
    ),
]


@app.callback()
def aggregator() -> None:
    """Train challengers on the fleet with Flower's deployment engine."""


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the SuperLink and start challenger runs on schedule until SIGTERM or SIGINT."""
    settings = load_aggregator_settings(config)
    configure_logging(settings.log_level)
    service = AggregatorService(settings)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    service.start()
    try:
        service.serve(stop)
    finally:
        service.stop()


@app.command("run")
def run_once(
    challenger: Annotated[str, typer.Option("--challenger", help="Which configured challenger.")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Start the SuperLink, run one challenger once, print how it ended, and stop."""
    settings = load_aggregator_settings(config)
    configure_logging(settings.log_level)
    chosen = [c for c in settings.challengers if c.name == challenger]
    if not chosen:
        names = ", ".join(c.name for c in settings.challengers)
        raise SettingsError(f"no challenger named {challenger!r}; configured: {names}")
    service = AggregatorService(settings)
    service.start()
    try:
        outcome = service.run_challenger(chosen[0])
    finally:
        service.stop()
    if as_json:
        typer.echo(json.dumps(asdict(outcome), indent=2))
    else:
        typer.echo(f"run {outcome.run_id}: {outcome.status} ({outcome.detail})")
