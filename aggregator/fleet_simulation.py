"""`edgeward simulate fleet`: the same ServerApp and ClientApp on Flower's simulation engine.

A SuperLink in simulation mode runs the ClientApps in Ray workers instead of on SuperNodes,
so a fleet far larger than this machine could host as processes trains with exactly the code
that runs on a real deployment. Each virtual site fills its own store with simulated history
(its own seed, load shapes and anomalies) on first use. Because the engine is Ray, the same
command can target a Ray cluster (see the README).
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aggregator.outcomes import RunOutcome
from aggregator.runs import RunSubmitter
from aggregator.superlink import CONNECTION, SuperLinkOptions, SuperLinkProcess
from edgeward.errors import EdgewardError
from edgeward.logs import configure_logging

app = typer.Typer(add_completion=False)
DEFAULT_FEDERATION = "@none/default"  # the federation a local SuperLink starts with
console = Console(stderr=True)


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def simulate_fleet(
    *,
    work_dir: Path,
    sites: int,
    rounds: int,
    model: str,
    strategy: str,
    days: float,
    step_s: float,
    cpus: int,
    timeout_s: float,
) -> RunOutcome:
    """Run one training run on a simulated fleet; return its outcome."""
    superlink = SuperLinkProcess(
        SuperLinkOptions(
            host="127.0.0.1",
            port=free_port(),
            state_dir=work_dir / "superlink",
            insecure=True,
            simulation=True,
        )
    )
    superlink.start()
    try:
        superlink.flwr(
            "federation",
            "simulation-config",
            DEFAULT_FEDERATION,
            CONNECTION,
            "--num-supernodes",
            str(sites),
            "--client-resources-num-cpus",
            "1",
            "--init-args-num-cpus",
            str(cpus),
        )
        runs = RunSubmitter(superlink, work_dir)
        run_id = runs.submit(
            {
                "fleet-dir": str(work_dir / "fleet"),
                "state-dir": str(work_dir),
                "rounds": rounds,
                "model": model,
                "strategy": strategy,
                "min-nodes": sites,
                "challenger": f"sim-{model}-{strategy}",
                "sim-days": days,
                "sim-step-s": step_s,
                "sim-end-ts": time.time(),
                "round-timeout-s": timeout_s,
            }
        )
        return runs.wait(run_id, timeout_s=timeout_s)
    finally:
        superlink.stop()


def summarise(outcome: RunOutcome, *, sites: int, wall_s: float) -> dict[str, Any]:
    """Return the run's figures: fleet and per-site error, timings."""
    per_site = outcome.metrics.get("per_site", {})
    maes = [m["challenger_mae"] for m in per_site.values()]
    return {
        "status": outcome.status,
        "detail": outcome.detail,
        "sites": sites,
        "sites_evaluated": len(maes),
        "fleet_mae_mean": statistics.fmean(maes) if maes else None,
        "site_mae_min": min(maes) if maes else None,
        "site_mae_median": statistics.median(maes) if maes else None,
        "site_mae_max": max(maes) if maes else None,
        "total_rows": outcome.total_rows,
        "timings_s": outcome.timings_s,
        "wall_s": round(wall_s, 1),
    }


@app.command()
def fleet(
    sites: Annotated[int, typer.Option("--sites", min=2, help="Virtual sites.")] = 10,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Federated rounds.")] = 3,
    model: Annotated[str, typer.Option("--model", help="mlp or gru.")] = "mlp",
    strategy: Annotated[str, typer.Option("--strategy", help="fedavg, fedprox, ...")] = "fedavg",
    days: Annotated[float, typer.Option("--days", help="History per site, in days.")] = 2.0,
    step_s: Annotated[float, typer.Option("--step", help="Seconds between readings.")] = 300.0,
    cpus: Annotated[int, typer.Option("--cpus", help="CPUs for the simulation engine.")] = 2,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            "--work-dir", help="Keep stores and logs here (default: temporary).", show_default=False
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Give up after seconds.")] = 3600,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Train on a simulated non-IID fleet with Flower's simulation engine and print figures."""
    configure_logging("WARNING")
    folder = work_dir or Path(tempfile.mkdtemp(prefix="edgeward-fleet-"))
    started = time.monotonic()
    with console.status(
        f"simulating {sites} sites, {rounds} rounds (work dir {folder})", spinner="dots"
    ) as _:
        outcome = simulate_fleet(
            work_dir=folder,
            sites=sites,
            rounds=rounds,
            model=model,
            strategy=strategy,
            days=days,
            step_s=step_s,
            cpus=cpus,
            timeout_s=timeout,
        )
    figures = summarise(outcome, sites=sites, wall_s=time.monotonic() - started)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
    else:
        table = Table(title=f"Simulated fleet: {sites} sites, {rounds} rounds")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in figures.items():
            table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
        Console().print(table)
    if outcome.status != "completed":
        raise EdgewardError(f"the simulated run ended {outcome.status}: {outcome.detail}")
