"""Fleet: every site, its last heartbeat, active model, live quality and enrollment; revoke.

One table whose rows are replaced in place every `dashboard.refresh_s` (a fleet of hundreds
stays one element, not thousands). Revoking asks why, then cuts the site off through the
service layer: from a row's button, or from "Revoke a site" with a choice of enrolled sites.
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


async def fleet_page(who: Principal) -> None:
    """Show every site, refreshed every `dashboard.refresh_s`; admins may revoke one."""
    may_revoke = who.can(Permission.REVOKE_SITE)
    dialog = ReasonDialog()
    summary = ui.label().mark("fleet-summary")
    columns = [*COLUMNS, ACTIONS_COLUMN] if may_revoke else list(COLUMNS)
    table = ui.table(columns=columns, rows=[], row_key="site", pagination=50).classes("w-full")
    table.mark("sites")

    async def update() -> None:
        sites = await load(operations().sites, who)
        table.rows = [site_row(s) for s in sites]
        online = sum(s.online for s in sites)
        revoked = sum(s.enrollment == "revoked" for s in sites)
        summary.text = f"{online} of {len(sites)} sites online, {revoked} revoked."

    async def revoke(site: str | None = None) -> None:
        enrolled = [row["site"] for row in table.rows if row["enrollment"] == "enrolled"]
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
