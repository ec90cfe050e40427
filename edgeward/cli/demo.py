"""`edgeward demo`: run Edgeward on this machine and watch it work."""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from edgeward.demo import DemoOptions, DemoRun
from edgeward.logs import configure_logging

app = typer.Typer(add_completion=False)
console = Console()
REFRESH_S = 2.0


@app.command()
def demo(
    sites: Annotated[int, typer.Option("--sites", help="Simulated sites (one agent each).")] = 2,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt", help="Use this broker instead of the embedded one.", show_default=False
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where sites keep their stores (default: a temporary folder).",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", help="Stop after this many seconds (default: Ctrl-C).", show_default=False
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final status as JSON.")
    ] = False,
) -> None:
    """Run agents against simulated base stations and show what they ingest."""
    configure_logging("WARNING")
    folder = data_dir or Path(tempfile.mkdtemp(prefix="edgeward-demo-"))
    run = DemoRun(DemoOptions(data_dir=folder, sites=sites, mqtt_url=mqtt))
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    if not as_json:
        console.print(f"[bold]Edgeward demo[/bold]: {sites} sites, data in {folder}")
    deadline = time.monotonic() + duration if duration else None
    try:
        run.start()  # inside the try: whatever started before a failure is stopped too
        if not as_json:
            console.print(f"broker {run.broker_url}; press Ctrl-C to stop")
        with Live(console=console, auto_refresh=False, transient=False) as live:
            while not stop.wait(REFRESH_S):
                if not as_json:
                    live.update(_render(run.status()), refresh=True)
                if deadline and time.monotonic() >= deadline:
                    break
    finally:
        run.stop()
    final = run.status()
    if as_json:
        typer.echo(json.dumps(final, indent=2))
    else:
        console.print(_render(final))
        console.print("stopped cleanly")


def _render(status: dict[str, Any]) -> Group:
    sites = Table(title="Sites")
    for column in ("site", "agent", "stored", "rate/s", "duplicates", "quarantined", "sources"):
        sites.add_column(column, justify="right" if column not in ("site", "agent") else "left")
    reasons: dict[str, int] = {}
    for name, report in status.items():
        if "error" in report:
            sites.add_row(name, "?", report["error"][:40], "", "", "", "")
            continue
        for reason, count in report["quarantined_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + count
        sites.add_row(
            name,
            "running" if report["agent_running"] else "[red]stopped[/red]",
            f"{report['records_stored']:,}",
            f"{report['ingest_rate_per_s']:.1f}",
            f"{report['duplicates']:,}",
            f"{report['quarantined']:,}",
            str(len(report["sources"])),
        )
    quarantine = Table(title="Quarantined by reason (all sites)")
    quarantine.add_column("reason")
    quarantine.add_column("count", justify="right")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        quarantine.add_row(reason, f"{count:,}")
    return Group(sites, quarantine)
