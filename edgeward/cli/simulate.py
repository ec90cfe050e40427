"""`edgeward simulate metrics`: publish realistic base-station KPIs to a broker."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from edgeward.cli.progress import count_progress
from edgeward.simulator import PublishOptions, publish_simulation

app = typer.Typer(add_completion=False)
console = Console(stderr=True)


@app.command()
def metrics(
    site: Annotated[str, typer.Option("--site", help="Site name; topics are edgeward/SITE/...")],
    mqtt: Annotated[str, typer.Option("--mqtt", help="Broker URL, mqtt://HOST:PORT or mqtts://")],
    sources: Annotated[int, typer.Option("--sources", help="Cells reporting at this site.")] = 4,
    rate: Annotated[float, typer.Option("--rate", help="Messages per second, all cells.")] = 10.0,
    seconds: Annotated[
        float | None, typer.Option("--seconds", help="Stop after this long.", show_default=False)
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", help="Stop after this many messages.", show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same series.")] = 0,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", help="Write anomaly ground truth here (JSON lines).", show_default=False
        ),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="Readings per message (JSON array).")] = 1,
    bad_fraction: Annotated[
        float, typer.Option("--bad-fraction", help="Share of malformed messages, 0 to 1.")
    ] = 0.0,
    bad_log: Annotated[
        Path | None,
        typer.Option(
            "--bad-log", help="Write each bad message's expected reason here.", show_default=False
        ),
    ] = None,
    anomaly_rate: Annotated[
        float, typer.Option("--anomaly-rate", help="Share of readings inside an anomaly.")
    ] = 0.015,
    step: Annotated[
        float | None,
        typer.Option(
            "--step",
            help="Simulated seconds between a cell's readings (default: real time).",
            show_default=False,
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="CA certificate that signed the broker's certificate (turns on TLS).",
            show_default=False,
        ),
    ] = None,
    cert_file: Annotated[
        Path | None,
        typer.Option(
            "--cert-file",
            help="Client certificate, for a broker that requires mutual TLS.",
            show_default=False,
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Private key of --cert-file.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Publish simulated KPIs (daily and weekly cycles, anomalies, optional bad messages)."""
    options = PublishOptions(
        site=site,
        sources=sources,
        rate=rate,
        mqtt_url=mqtt,
        seed=seed,
        seconds=seconds,
        count=count,
        batch=batch,
        bad_fraction=bad_fraction,
        anomaly_rate=anomaly_rate,
        step_s=step,
        labels_file=labels,
        bad_log=bad_log,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
    )
    options.check()
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with count_progress("publishing", console=console, disable=as_json) as progress:
        task = progress.add_task("messages", total=options.expected_messages())
        report = publish_simulation(
            options, stop=stop, on_progress=lambda n: progress.update(task, completed=n)
        )
    if as_json:
        typer.echo(json.dumps(asdict(report)))
    else:
        console.print(
            f"published {report.published:,} messages ({report.good:,} good carrying "
            f"{report.readings:,} readings, {report.bad:,} malformed), "
            f"{report.anomalies} anomalies, in {report.elapsed_s:.1f} s"
        )
