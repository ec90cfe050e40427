"""Data: ingest and quarantine per site, quarantine by reason (a chart), schema versions in the
fleet and what the agents keep, refreshed live."""

from __future__ import annotations

from nicegui import ui

from control_plane.access import Principal
from control_plane.operations.data_ops import DataView, Retention
from ui.frame import load, number, when
from ui.pages.cells import cells
from ui.wiring import dashboard_settings, operations

SITE_COLUMNS = ("Site", "Ingest (records/s)", "Quarantined", "Recent by reason", "Schema", "Seen")
SAMPLES_LIVE_ON_AGENTS = (
    "Quarantined records themselves stay on the agents: run `edgeward agent status --data-dir "
    "<dir>` on a site for its counts by reason; each entry (source, reason, detail and the raw "
    "input) is in the quarantine table of the agent's store in that folder."
)


def retention_sentence(retention: Retention) -> str:
    """Return what the agents keep by default, and where that is set."""
    return (
        f"By default an agent keeps readings for {number(retention.readings_days)} days "
        f"(by measurement time) and quarantine entries for {number(retention.quarantine_days)} "
        f"days (by arrival), applied at start and every {number(retention.interval_s)} s. "
        "Each site sets its own in `[agent.retention]` of its settings file "
        "(or EDGEWARD_AGENT__RETENTION__READINGS_DAYS and friends); data a model was trained "
        "on is held while that model exists. See docs/ingestion.md."
    )


def _site_rows(view: DataView) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for site in view.sites:
        reasons = ", ".join(f"{r} {c:,.0f}" for r, c in site.quarantined.items()) or "none"
        rate = "—" if site.quarantine_rate is None else f"{site.quarantine_rate:.2%}"
        rows.append(
            (
                site.site,
                "—" if site.ingest_rate is None else f"{site.ingest_rate:,.1f}",
                rate,
                reasons,
                site.schema_hash[:12] if site.schema_hash else "not announced",
                when(site.last_seen),
            )
        )
    return rows


def _quarantine_chart(view: DataView) -> None:
    ui.label("Quarantine by reason (the sites' last reports)").classes("text-lg")
    if not view.quarantine_by_reason:
        ui.label("Nothing quarantined recently.").mark("quarantine-none")
        return
    reasons = list(view.quarantine_by_reason)
    ui.echart(
        {
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": reasons},
            "yAxis": {"type": "value", "name": "records"},
            "series": [{"type": "bar", "data": list(view.quarantine_by_reason.values())}],
        }
    ).classes("w-full h-64").mark("quarantine-chart")
    for reason, count in view.quarantine_by_reason.items():
        ui.label(f"{reason}: {count:,.0f} records quarantined recently.")


def _schemas(view: DataView) -> None:
    ui.label("Schema versions").classes("text-lg")
    if not view.schemas:
        ui.label("No site has announced its schema yet.")
    elif len(view.schemas) == 1:
        ui.label(f"Every reporting site uses the same schema ({next(iter(view.schemas))[:12]}).")
    else:
        ui.label(f"The fleet runs {len(view.schemas)} schema versions:").classes("text-warning")
    for schema_hash, sites in view.schemas.items():
        ui.label(f"{schema_hash[:12]}: {', '.join(sites)}").mark("schema-version")


def render(view: DataView) -> None:
    """Draw the data page from one snapshot."""
    ui.label("Per site").classes("text-xl")
    if view.sites:
        cells(SITE_COLUMNS, _site_rows(view), mark="data-sites")
    else:
        ui.label("No site has reported yet.")
    with ui.row().classes("gap-4 w-full"):
        with ui.card().classes("flex-1"):
            _quarantine_chart(view)
            ui.label(SAMPLES_LIVE_ON_AGENTS).classes("text-sm").mark("quarantine-samples")
        with ui.card().classes("flex-1"):
            _schemas(view)
            ui.label("Retention").classes("text-lg")
            ui.label(retention_sentence(view.retention)).mark("retention")
    ui.label(f"Updated {when(view.generated_at)} UTC").classes("text-xs text-gray-500")


async def data_page(who: Principal) -> None:
    """Show the fleet's data, refreshed every `dashboard.refresh_s`."""

    @ui.refreshable
    async def content() -> None:
        render(await load(operations().data, who))

    await content()
    ui.timer(dashboard_settings().refresh_s, content.refresh)
