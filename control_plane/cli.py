"""`edgeward models ...`: list registered model versions and show one in full."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from control_plane.model_tables import key_value_table, site_metrics_table
from control_plane.registry import ModelVersion, SqliteRegistry
from edgeward.bundles import BundleManifest, format_utc, verify_bundle
from edgeward.cli.options import JsonOption
from edgeward.settings import env_var_for

models_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Inspect the model registry."
)
console = Console()

RegistryOption = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar=env_var_for("control", "registry_dir"),
        help="The model registry's folder.",
        show_default=False,
    ),
]


@models_app.callback()
def models() -> None:
    """Inspect the model registry."""


@models_app.command("list")
def list_models(registry: RegistryOption, as_json: JsonOption = False) -> None:
    """List registered model versions, oldest first, with their aliases."""
    with SqliteRegistry.open_read_only(registry) as opened:
        versions = opened.list()
    if as_json:
        typer.echo(json.dumps([version.to_dict() for version in versions], indent=2))
        return
    if not versions:
        console.print(f"No model versions in {registry}.")
        return
    console.print(_versions_table(versions))


@models_app.command("import")
def import_models(registry: RegistryOption, as_json: JsonOption = False) -> None:
    """Register the challengers waiting in the registry's inbox (bad ones go to rejected/)."""
    with SqliteRegistry.open(registry) as opened:
        report = opened.import_submissions()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "registered": [v.to_dict() for v in report.registered],
                    "rejected": [
                        {"submission": r.submission, "reason": r.reason} for r in report.rejected
                    ],
                },
                indent=2,
                default=str,
            )
        )
        return
    for version in report.registered:
        console.print(f"registered version {version.version} ({version.name})")
    for rejected in report.rejected:
        console.print(f"[red]rejected[/red] {rejected.submission}: {rejected.reason}")
    if not report.registered and not report.rejected:
        console.print("Nothing waiting in the inbox.")


@models_app.command()
def show(
    version: Annotated[int, typer.Argument(help="The version number to show.")],
    registry: RegistryOption,
    as_json: JsonOption = False,
) -> None:
    """Show a version's manifest: model spec, lineage and per-site metrics (weights verified)."""
    with SqliteRegistry.open_read_only(registry) as opened:
        model = opened.get(version)
    manifest = verify_bundle(model.path)
    if as_json:
        document = {"version": model.to_dict(), "manifest": manifest.model_dump(mode="json")}
        typer.echo(json.dumps(document, indent=2))
        return
    _print_manifest(model, manifest)


def _versions_table(versions: list[ModelVersion]) -> Table:
    table = Table(title="Model versions")
    table.add_column("version", justify="right")
    table.add_column("name", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("aliases", overflow="fold")
    table.add_column("parent", justify="right")
    table.add_column("schema", no_wrap=True)
    for version in versions:
        table.add_row(
            str(version.version),
            version.name,
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            ", ".join(version.aliases),
            "" if version.parent_version is None else str(version.parent_version),
            version.schema_hash[:8],
        )
    return table


def _print_manifest(model: ModelVersion, manifest: BundleManifest) -> None:
    summary: dict[str, Any] = {
        "version": model.version,
        "name": manifest.name,
        "aliases": ", ".join(model.aliases) or "-",
        "created": format_utc(manifest.created_at),
        "registered": format_utc(model.registered_at),
        "parent version": manifest.parent_version or "-",
        "schema hash": manifest.schema_hash,
        "weights sha256": f"{manifest.weights_sha256} (verified)",
        "signature": manifest.signature or "unsigned",
        "path": str(model.path),
    }
    console.print(key_value_table(f"Model version {model.version}", summary))
    console.print(key_value_table("Model spec", manifest.model_spec))
    console.print(key_value_table("Lineage", manifest.lineage))
    console.print(site_metrics_table(manifest.metrics))
