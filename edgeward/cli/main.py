"""The `edgeward` command: one entry point whose command groups load only when used.

Groups live with the role that owns them (`edge_agent.cli`, later `control_plane.cli`, ...)
and are imported lazily, so `edgeward --help` is fast and an agent-only install never imports
the dashboard. `EdgewardError`s become one line on stderr and the error's exit code.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click
import typer

from edgeward import __version__
from edgeward.errors import EdgewardError

OWN_PACKAGES = frozenset(("edgeward", "edge_agent", "aggregator", "control_plane", "ui", "certs"))

# name -> (module:attribute of a Typer app, one-line help shown without importing it)
COMMAND_GROUPS: dict[str, tuple[str, str]] = {
    "agent": ("edge_agent.cli:app", "Run and inspect the edge agent on a device."),
    "aggregator": ("aggregator.cli:app", "Train challengers on the fleet with Flower."),
    "certs": ("certs.cli:app", "Make and manage the fleet's keys and certificates."),
    "demo": ("edgeward.cli.demo:app", "Run Edgeward on this machine with simulated sites."),
    "models": ("control_plane.cli:models_app", "Inspect the model registry; promote, roll back."),
    "rollout": ("control_plane.rollout_cli:app", "Start, follow and steer staged rollouts."),
    "fleet": ("control_plane.fleet_cli:app", "See the fleet; revoke a site."),
    "approvals": (
        "control_plane.approvals_cli:app",
        "Approve or deny held decisions; see decision history.",
    ),
    "control-plane": ("control_plane.serve_cli:app", "Run the control plane."),
    "users": ("control_plane.users_cli:app", "Manage dashboard accounts and API tokens."),
    "risk": (
        "edgeward.cli.risk:app",
        "Screen decisions for risk; tune and evaluate the LLM layer.",
    ),
}
# `edgeward simulate ...` gathers commands owned by different roles.
SIMULATE_COMMANDS: dict[str, tuple[str, str]] = {
    "metrics": ("edgeward.cli.simulate:app", "Publish realistic base-station KPIs over MQTT."),
    "fleet": ("aggregator.fleet_simulation:app", "Simulate federated learning on a large fleet."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are Typer apps imported on first use."""

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = COMMAND_GROUPS if lazy is None else lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List eager and lazy commands together."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a command, importing its module if it is a lazy one."""
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        target, _ = self.lazy[cmd_name]
        module_name, attribute = target.split(":")
        try:
            app = getattr(importlib.import_module(module_name), attribute)
        except ModuleNotFoundError as err:
            if (err.name or "").split(".")[0] in OWN_PACKAGES:
                raise  # our own module is missing: a packaging bug, not a missing extra
            raise EdgewardError(
                f"'edgeward {cmd_name}' needs {err.name!r}, which is not installed; "
                "install the extra for this role, e.g. pip install 'edgeward[all]'"
            ) from err
        command = typer.main.get_command(app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with their stored help, without importing the lazy ones."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(80)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Edgeward: federated learning, safe rollout and risk-screened actions at the network edge."""


@cli.group(cls=LazyGroup, lazy=SIMULATE_COMMANDS)
def simulate() -> None:
    """Generate realistic network metrics, or simulate learning on a large fleet."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def version(as_json: bool) -> None:
    """Print the installed Edgeward version."""
    if as_json:
        click.echo(f'{{"version": "{__version__}"}}')
    else:
        click.echo(f"edgeward {__version__}")


def run(argv: list[str] | None = None) -> Any:
    """Run the CLI; expected errors print one line and exit with their code."""
    try:
        return cli.main(args=argv, prog_name="edgeward", standalone_mode=True)
    except EdgewardError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
