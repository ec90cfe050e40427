"""`edgeward certs ...`: make the control plane's PKI, and enroll, rotate and revoke devices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from certs.device_index import DeviceRecord, format_timestamp
from certs.devices import (
    EnrollmentBundle,
    issue_device,
    list_devices,
    revoke_device,
    rotate_device,
)
from certs.pki import Pki, init_pki, load_pki
from edgeward.cli.options import JsonOption

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Make and manage the fleet's keys and certificates.",
)
console = Console()

DirOption = Annotated[
    Path, typer.Option("--dir", help="The control plane's PKI folder.", show_default=False)
]
OutOption = Annotated[
    Path,
    typer.Option(
        "--out", help="Where to write the enrollment bundle (a new file).", show_default=False
    ),
]
SiteArgument = Annotated[str, typer.Argument(help="The device's site name.", show_default=False)]


@app.callback()
def certs() -> None:
    """Make and manage the fleet's keys and certificates."""


@app.command()
def init(
    directory: DirOption,
    address: Annotated[
        str,
        typer.Option(
            "--address",
            help="Where agents reach the control plane, tcp://HOST:PORT.",
            show_default=False,
        ),
    ],
    hosts: Annotated[
        list[str] | None,
        typer.Option("--host", help="DNS name of the control plane (repeatable)."),
    ] = None,
    ips: Annotated[
        list[str] | None,
        typer.Option("--ip", help="IP address of the control plane (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create the CA, server certificates, signing key and CURVE keys of the control plane."""
    pki = init_pki(
        directory,
        control_plane_address=address,
        hosts=tuple(hosts) if hosts else ("localhost",),
        ips=tuple(ips) if ips else ("127.0.0.1",),
    )
    if as_json:
        typer.echo(json.dumps(_pki_dict(pki), indent=2))
        return
    console.print(f"Created the PKI in {pki.directory} for {pki.control_plane_address}.")
    console.print(f"Control plane CURVE public key: {pki.curve_public_key.decode()}")
    console.print("Keep this folder on the control plane; private keys never leave it.")


@app.command("issue-device")
def issue_device_command(
    site: SiteArgument, directory: DirOption, out: OutOption, as_json: JsonOption = False
) -> None:
    """Enroll a device: make its keys and write its enrollment bundle."""
    bundle = issue_device(load_pki(directory), site, out=out)
    _report_bundle(bundle, as_json=as_json, verb="Enrolled")


@app.command("rotate-device")
def rotate_device_command(
    site: SiteArgument, directory: DirOption, out: OutOption, as_json: JsonOption = False
) -> None:
    """Give a device new keys and a new bundle; its old keys are refused at once."""
    bundle = rotate_device(load_pki(directory), site, out=out)
    _report_bundle(bundle, as_json=as_json, verb="Rotated")


@app.command()
def revoke(
    site: SiteArgument,
    directory: DirOption,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the device is revoked (kept in the index).")
    ] = "revoked by an operator",
    as_json: JsonOption = False,
) -> None:
    """Revoke a device: the control plane refuses its keys from now on."""
    record = revoke_device(load_pki(directory), site, reason=reason)
    if as_json:
        typer.echo(json.dumps(record.to_dict(), indent=2))
        return
    console.print(
        f"Revoked {record.site} (generation {record.generation}): {record.revocation_reason}."
    )


@app.command("list")
def list_command(
    directory: DirOption,
    history: Annotated[
        bool, typer.Option("--history", help="Show every generation, not just the newest.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List enrolled devices, their key fingerprints and whether they are revoked."""
    records = list_devices(load_pki(directory), history=history)
    if as_json:
        typer.echo(json.dumps([record.to_dict() for record in records], indent=2))
        return
    if not records:
        console.print(f"No devices are enrolled in {directory}.")
        return
    console.print(_devices_table(records))


def _report_bundle(bundle: EnrollmentBundle, *, as_json: bool, verb: str) -> None:
    """Print what an issued or rotated bundle holds."""
    if as_json:
        document = {"bundle": str(bundle.path), "members": list(bundle.members)}
        typer.echo(json.dumps({**document, **bundle.device.to_dict()}, indent=2))
        return
    device = bundle.device
    console.print(
        f"{verb} {device.site} (generation {device.generation}); its bundle is {bundle.path}."
    )
    console.print(f"CURVE public key: {device.curve_public_key}")
    console.print(
        "The bundle holds the device's private keys: move it over a trusted channel, install "
        "it with 'edgeward agent enroll', then delete it."
    )


def _devices_table(records: list[DeviceRecord]) -> Table:
    """Return a table of devices, one row per record."""
    table = Table(title="Enrolled devices")
    for column in ("site", "generation", "status", "issued", "CURVE key", "certificate"):
        table.add_column(column)
    for record in records:
        status = "active"
        if record.revoked_at is not None:
            status = f"revoked {format_timestamp(record.revoked_at)} ({record.revocation_reason})"
        table.add_row(
            record.site,
            str(record.generation),
            status,
            format_timestamp(record.issued_at),
            record.curve_public_key[:12] + "...",
            record.certificate_fingerprint[:16] + "...",
        )
    return table


def _pki_dict(pki: Pki) -> dict[str, Any]:
    """Return the PKI's address, key and main paths as JSON-ready values."""
    return {
        "directory": str(pki.directory),
        "control_plane_address": pki.control_plane_address,
        "curve_public_key": pki.curve_public_key.decode(),
        "created_at": format_timestamp(pki.created_at),
        "ca_cert": str(pki.ca_cert),
        "signing_public_key": str(pki.signing.public_key),
        "devices_db": str(pki.devices_db),
    }
