"""Fleet: every site, its last heartbeat, active model, live quality and enrollment; revoke.

One table paged on the server: the browser holds one page of rows (a fleet of hundreds would
otherwise ship and lay out every row, with a revoke button each, before the page shows), and
sorting, paging and the search box ask the server for the page they need. The page in view is
refreshed in place every `dashboard.refresh_s`. Revoking asks why, then cuts the site off
through the service layer: from a row's button, or from "Revoke a site" with a choice of every
enrolled site.
"""

from __future__ import annotations

from typing import Any, Final

from nicegui import ui
from nicegui.events import GenericEventArguments

from control_plane.access import Permission, Principal
from control_plane.operations import SiteView
from ui.frame import act, load, number, when
from ui.pages.reason_dialog import ReasonDialog
from ui.wiring import dashboard_settings, operations

COLUMNS: Final[tuple[dict[str, Any], ...]] = (
    {"name": "site", "label": "Site", "field": "site", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True},
    {"name": "last_seen", "label": "Last heartbeat (UTC)", "field": "last_seen", "sortable": True},
    {"name": "model", "label": "Active model", "field": "model", "sortable": True},
    {"name": "live_mae", "label": "Live MAE", "field": "live_mae", "sortable": True},
    {"name": "alarm_rate", "label": "Alarm rate", "field": "alarm_rate", "sortable": True},
    {"name": "latency", "label": "Inference p95", "field": "latency", "sortable": True},
    {"name": "enrollment", "label": "Enrollment", "field": "enrollment", "sortable": True},
)
ACTIONS_COLUMN: Final[dict[str, Any]] = {"name": "actions", "label": "", "field": "site"}
ROWS_PER_PAGE: Final = 25

# The row's button sends the site's name to the table's `revoke` event.
REVOKE_CELL: Final = r"""
<q-td :props="props">
  <q-btn v-if="props.row.enrollment === 'enrolled'" dense flat color="negative" icon="block"
         label="Revoke" @click="() => $parent.$emit('revoke', props.row.site)" />
</q-td>
"""


def site_row(site: SiteView) -> dict[str, Any]:
    """Return a site as a table row of formatted values."""
    latency = site.quality.get("inference_p95_ms")
    alarm_rate = site.quality.get("alarm_rate")
    return {
        "site": site.site,
        "status": "online" if site.online else "offline",
        "last_seen": when(site.last_seen),
        "model": f"v{site.active_version}" if site.active_version else "none",
        "live_mae": number(site.quality.get("live_mae")),
        "alarm_rate": "—" if alarm_rate is None else f"{alarm_rate:.1%}",
        "latency": "—" if latency is None else f"{latency:.1f} ms",
        "enrollment": site.enrollment,
    }


def page_of(
    rows: list[dict[str, Any]], search: str, pagination: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return the rows of the page `pagination` asks for, and the pagination to show with them.

    `search` keeps the rows where any cell contains it (case-insensitive). Sorting compares
    the formatted cells, as the browser would; a page past the end becomes the last page.
    """
    needle = search.strip().lower()
    if needle:
        rows = [row for row in rows if any(needle in str(v).lower() for v in row.values())]
    sort_by = pagination.get("sortBy") or "site"
    rows = sorted(
        rows, key=lambda row: str(row.get(sort_by, "")), reverse=bool(pagination.get("descending"))
    )
    per_page = int(pagination.get("rowsPerPage") or ROWS_PER_PAGE)
    last_page = max(1, -(-len(rows) // per_page))
    page = min(max(1, int(pagination.get("page") or 1)), last_page)
    shown = {**pagination, "page": page, "rowsPerPage": per_page, "rowsNumber": len(rows)}
    return rows[(page - 1) * per_page : page * per_page], shown


async def fleet_page(who: Principal) -> None:
    """Show every site, a page at a time, refreshed every `dashboard.refresh_s`."""
    may_revoke = who.can(Permission.REVOKE_SITE)
    dialog = ReasonDialog()
    summary = ui.label().mark("fleet-summary")
    search = (
        ui.input("Search sites", placeholder="name, status, model...")
        .props("clearable dense")
        .classes("w-64")
        .mark("fleet-search")
    )
    columns = [*COLUMNS, ACTIONS_COLUMN] if may_revoke else list(COLUMNS)
    # `rowsNumber` puts the table in server-side mode: it shows what it is given and asks
    # for other pages and orders through its `request` event.
    pagination: dict[str, Any] = {
        "page": 1,
        "rowsPerPage": ROWS_PER_PAGE,
        "rowsNumber": 0,
        "sortBy": "site",
        "descending": False,
    }
    table = ui.table(columns=columns, rows=[], row_key="site", pagination=pagination)
    table.classes("w-full").props("rows-per-page-options='[10,25,50,100]'").mark("sites")
    every_row: list[dict[str, Any]] = []

    def show(asked: dict[str, Any]) -> None:
        table.rows, shown = page_of(every_row, search.value or "", asked)
        table.pagination = shown

    async def update() -> None:
        sites = await load(operations().sites, who)
        every_row[:] = [site_row(s) for s in sites]
        show(table.pagination)
        online = sum(s.online for s in sites)
        revoked = sum(s.enrollment == "revoked" for s in sites)
        summary.text = f"{online} of {len(sites)} sites online, {revoked} revoked."

    table.on("request", lambda e: show(dict(e.args["pagination"])))
    search.on_value_change(lambda: show({**table.pagination, "page": 1}))

    async def revoke(site: str | None = None) -> None:
        enrolled = [row["site"] for row in every_row if row["enrollment"] == "enrolled"]
        answer = await dialog.ask(
            "Revoke a site: it can no longer connect to the control plane.",
            choices={name: name for name in enrolled},
            chosen=site if site in enrolled else None,
        )
        if answer is None or answer.choice is None:
            return
        record = await act(operations().revoke_site, who, answer.choice, reason=answer.reason)
        if record is not None:
            ui.notify(f"{record.site} is revoked.", type="positive")
        await update()

    if may_revoke:
        table.add_slot("body-cell-actions", REVOKE_CELL)
        table.on("revoke", lambda e: _revoke_row(e, revoke))
        ui.button("Revoke a site", icon="block", on_click=lambda: revoke()).props(
            "color=negative outline"
        ).mark("action-revoke-site")
    await update()
    ui.timer(dashboard_settings().refresh_s, update)


async def _revoke_row(event: GenericEventArguments, revoke: Any) -> None:
    await revoke(str(event.args))
