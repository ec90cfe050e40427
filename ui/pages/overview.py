"""Overview: fleet health, champion and challengers, the active rollout, pending approvals,
ingest and quarantine, refreshed live."""

from __future__ import annotations

from nicegui import ui

from control_plane.access import Principal
from control_plane.operations import Overview
from ui.frame import load, number, when
from ui.wiring import dashboard_settings, operations


def _tile(label: str, value: str, *, mark: str) -> None:
    with ui.card().classes("min-w-40"):
        ui.label(label).classes("text-sm text-gray-500")
        ui.label(value).classes("text-2xl").mark(mark)


def render(view: Overview) -> None:
    """Draw the overview's tiles and panels from one snapshot."""
    fleet = view.fleet
    with ui.row().classes("gap-4"):
        _tile("Sites online", f"{fleet.online} / {fleet.sites}", mark="sites-online")
        _tile("Champion", f"v{view.champion}" if view.champion else "none", mark="champion")
        _tile("On the champion", f"{fleet.on_champion} / {fleet.sites}", mark="on-champion")
        _tile("Pending approvals", f"{view.pending_approvals}", mark="pending-approvals")
        _tile("Ingest", f"{fleet.ingest_rate:,.1f} records/s", mark="ingest-rate")
        _tile("Quarantined", f"{fleet.quarantine_rate:.2%}", mark="quarantine-rate")
        _tile("Live MAE (mean)", number(fleet.live_mae_mean), mark="live-mae")
    with ui.row().classes("gap-4 w-full"):
        with ui.card().classes("flex-1"):
            ui.label("Models").classes("text-lg")
            if not view.aliases:
                ui.label("No model has an alias yet.")
            for alias, version in view.aliases.items():
                ui.label(f"{alias}: v{version}")
            newest = view.latest_version
            ui.label(f"Newest registered: v{newest}" if newest else "No model registered yet.")
        with ui.card().classes("flex-1").mark("active-rollout"):
            ui.label("Active rollout").classes("text-lg")
            rollout = view.active_rollout
            if rollout is None:
                ui.label("No rollout is running.")
            else:
                ui.label(
                    f"Rollout {rollout['id']}: v{rollout['version']} ({rollout['status']}), "
                    f"wave {rollout['current_wave'] + 1} of {rollout['waves']}, "
                    f"{rollout['sites_activated']} of {rollout['sites']} sites activated"
                )
        with ui.card().classes("flex-1"):
            ui.label("Decisions, last 24 h").classes("text-lg")
            if not view.decisions_by_risk:
                ui.label("No decisions reported.")
            for level, count in view.decisions_by_risk.items():
                ui.label(f"{level}: {count}")
        with ui.card().classes("flex-1"):
            ui.label("Quarantine by reason").classes("text-lg")
            if not view.quarantine_by_reason:
                ui.label("Nothing quarantined recently.")
            for reason, recent in view.quarantine_by_reason.items():
                ui.label(f"{reason}: {recent:,.0f}")
    ui.label(f"Updated {when(view.generated_at)} UTC").classes("text-xs text-gray-500")


async def overview_page(who: Principal) -> None:
    """Show the overview, refreshed every `dashboard.refresh_s`."""

    @ui.refreshable
    async def content() -> None:
        render(await load(operations().overview, who))

    await content()
    ui.timer(dashboard_settings().refresh_s, content.refresh)
