"""Models: versions and aliases; for a chosen version its per-site metrics against the champion,
the gate's verdict, and its lineage from data to model to the decisions it made; promote and
roll back.

The page is built once and its parts are filled in place (every `dashboard.refresh_s`, on a
new choice and after an action), so a dialog that is open stays open.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from nicegui import ui

from control_plane.access import Permission, Principal
from control_plane.promotion import GateReport
from control_plane.registry import ModelVersion
from edgeward.errors import EdgewardError
from ui.frame import act, load, number, when
from ui.pages.reason_dialog import ReasonDialog
from ui.wiring import dashboard_settings, operations

log = logging.getLogger(__name__)


def _column(name: str, label: str, *, align: str = "left") -> dict[str, Any]:
    return {"name": name, "label": label, "field": name, "align": align}


VERSION_COLUMNS: Final = [
    _column("version", "Version"),
    _column("name", "Name"),
    _column("created", "Created (UTC)"),
    _column("aliases", "Aliases"),
    _column("parent", "Parent"),
    _column("schema", "Schema"),
]
RULE_COLUMNS: Final = [
    _column("rule", "Rule"),
    _column("result", "Result"),
    _column("value", "Value"),
    _column("threshold", "Threshold"),
    _column("detail", "Detail"),
]
LINEAGE_COLUMNS: Final = [
    _column("site", "Site"),
    _column("rows", "Rows", align="right"),
    _column("quarantined", "Quarantined", align="right"),
    _column("first", "From (UTC)"),
    _column("last", "To (UTC)"),
    _column("fingerprint", "Fingerprint"),
]


def version_row(model: ModelVersion) -> dict[str, Any]:
    """Return a registered version as a table row."""
    return {
        "version": f"v{model.version}",
        "name": model.name,
        "created": model.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "aliases": ", ".join(model.aliases) or "—",
        "parent": f"v{model.parent_version}" if model.parent_version else "—",
        "schema": model.schema_hash[:12],
    }


SERIES: Final = (("challenger MAE", "challenger_mae"), ("champion MAE", "champion_mae"))
"""The bars per site: their legend and the manifest's `metrics.per_site` key."""


def metrics_chart(per_site: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return ECharts options: challenger vs champion MAE per site."""
    sites = sorted(per_site)
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [name for name, _ in SERIES]},
        "xAxis": {"type": "category", "data": sites},
        "yAxis": {"type": "value", "name": "MAE"},
        "series": [
            {
                "name": name,
                "type": "bar",
                "data": [per_site[s].get(key) for s in sites],
            }
            for name, key in SERIES
        ],
    }


def gate_rows(report: GateReport) -> list[dict[str, Any]]:
    """Return the gate's rules as table rows."""
    return [
        {
            "rule": rule.rule.replace("_", " "),
            "result": "passed" if rule.passed else "failed",
            "value": number(rule.value),
            "threshold": number(rule.threshold),
            "detail": rule.detail,
        }
        for rule in report.rules
    ]


def gate_sentence(report: GateReport) -> str:
    """Return the gate's verdict as one sentence."""
    against = f"v{report.champion_version}" if report.champion_version else "no champion"
    verdict = "passes" if report.passed else "fails"
    return f"v{report.challenger_version} {verdict} the gate against {against}: {report.summary()}."


def lineage_sentence(lineage: dict[str, Any]) -> str:
    """Return where a model came from in one sentence."""
    if not lineage:
        return "This version's manifest records no lineage."
    started = lineage.get("started_from")
    return (
        f"Trained in run {lineage.get('run_id', 'unknown')} over {lineage.get('rounds', '?')} "
        f"rounds ({lineage.get('strategy', 'strategy not recorded')}), "
        f"starting from {f'v{started}' if started else 'scratch'}."
    )


def lineage_rows(lineage: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the data each site trained on as table rows."""
    sites: dict[str, dict[str, Any]] = lineage.get("sites") or {}
    return [
        {
            "site": site,
            "rows": number(data.get("rows")),
            "quarantined": number(data.get("quarantined")),
            "first": when(_seconds(data.get("first_ts_ms"))),
            "last": when(_seconds(data.get("last_ts_ms"))),
            "fingerprint": str(data.get("fingerprint", "—"))[:12],
        }
        for site, data in sorted(sites.items())
    ]


def _seconds(milliseconds: Any) -> float | None:
    return milliseconds / 1000 if isinstance(milliseconds, int | float) else None


def decisions_sentence(version: int, by_risk: dict[str, int]) -> str:
    """Return the decisions a version made as one sentence."""
    if not by_risk:
        return f"No site has reported a decision made with v{version}."
    counts = ", ".join(f"{count} {risk}" for risk, count in by_risk.items())
    return f"Decisions made with v{version}, by risk: {counts}."


class ModelsPanel:
    """The page's parts, filled in place from the service layer."""

    def __init__(self, who: Principal) -> None:
        self.who = who
        self.dialog = ReasonDialog()
        self.last_completed: int | None = None
        with ui.row().classes("items-center gap-4"):
            self.choice = ui.select({}, label="Version", on_change=self._chosen).mark(
                "version-choice"
            )
            self.promote_button = ui.button("Promote", icon="rocket_launch", on_click=self.promote)
            self.promote_button.mark("action-promote").visible = who.can(Permission.PROMOTE)
            self.roll_back_button = ui.button("Roll back", icon="undo", on_click=self.roll_back)
            self.roll_back_button.props("color=negative outline").mark("action-roll-back")
            self.roll_back_button.visible = False
            self.champion = ui.label().mark("champion-rollout")
        self.versions = ui.table(columns=VERSION_COLUMNS, rows=[], row_key="version")
        self.versions.classes("w-full").mark("versions")
        with ui.card().classes("w-full"):
            ui.label("Per-site MAE, challenger vs champion").classes("text-lg")
            self.chart = ui.echart(metrics_chart({})).classes("w-full h-64").mark("site-metrics")
        with ui.card().classes("w-full"):
            ui.label("Gate report").classes("text-lg")
            self.gate = ui.label().mark("gate-verdict")
            self.rules = ui.table(columns=RULE_COLUMNS, rows=[], row_key="rule").mark("gate")
        with ui.card().classes("w-full"):
            ui.label("Lineage").classes("text-lg")
            self.lineage = ui.label().mark("lineage")
            self.sites = ui.table(columns=LINEAGE_COLUMNS, rows=[], row_key="site")
            self.sites.mark("lineage-sites")
            self.decisions = ui.label().mark("decisions")

    async def update(self) -> None:
        """Reload the versions, the champion's last rollout and the chosen version."""
        models = await load(operations().models, self.who)
        self.versions.rows = [version_row(m) for m in models]
        labels = {m.version: f"v{m.version} · {m.name}" for m in models}
        chosen = self.choice.value if self.choice.value in labels else None
        if chosen is None and models:
            chosen = models[0].version
        self.choice.set_options(labels, value=chosen)
        await self._show_champion_rollout()
        if chosen is not None:
            await self._show_version(int(chosen))

    async def _chosen(self) -> None:
        if self.choice.value is not None:
            await self._show_version(int(self.choice.value))

    async def _show_champion_rollout(self) -> None:
        rollout = await load(operations().last_completed_rollout, self.who)
        self.last_completed = None if rollout is None else rollout.id
        self.roll_back_button.visible = rollout is not None and self.who.can(Permission.ROLL_BACK)
        self.champion.text = (
            "No completed rollout to roll back."
            if rollout is None
            else f"The champion came from rollout {rollout.id} (v{rollout.version}, "
            f"replacing {number(rollout.baseline_version)})."
        )

    async def _show_version(self, version: int) -> None:
        try:
            manifest = await load(operations().manifest, self.who, version)
            report = await load(operations().gate_report, self.who, version)
            by_risk = await load(operations().model_decisions, self.who, version)
        except (EdgewardError, OSError, ValueError) as err:
            log.warning("cannot show version %s: %s", version, err)
            self.gate.text = f"Version {version}'s manifest cannot be read."
            return
        self.chart.options.clear()
        self.chart.options.update(metrics_chart(manifest.get("metrics", {}).get("per_site", {})))
        self.chart.update()
        self.gate.text = gate_sentence(report)
        self.rules.rows = gate_rows(report)
        lineage = manifest.get("lineage", {})
        self.lineage.text = lineage_sentence(lineage)
        self.sites.rows = lineage_rows(lineage)
        self.decisions.text = decisions_sentence(version, by_risk)

    async def promote(self) -> None:
        """Ask why, then start a rollout of the chosen version."""
        version = self.choice.value
        if version is None:
            return
        answer = await self.dialog.ask(f"Promote v{version}: roll it out to the fleet in waves.")
        if answer is None:
            return
        started = await act(operations().promote, self.who, int(version), reason=answer.reason)
        if started is not None:
            ui.notify(f"Rollout {started[0]} of v{version} started.", type="positive")
        await self.update()

    async def roll_back(self) -> None:
        """Ask why, then roll back the rollout the champion came from."""
        rollout_id = self.last_completed
        if rollout_id is None:
            return
        answer = await self.dialog.ask(
            f"Roll back rollout {rollout_id}: the champion and its sites return to the baseline."
        )
        if answer is None:
            return
        done = await act(operations().roll_back, self.who, rollout_id, reason=answer.reason)
        if done is not None:
            ui.notify(f"Rollout {rollout_id} is rolled back.", type="positive")
        await self.update()


async def models_page(who: Principal) -> None:
    """Show the versions and the chosen one's evidence, refreshed every `dashboard.refresh_s`."""
    panel = ModelsPanel(who)
    await panel.update()
    ui.timer(dashboard_settings().refresh_s, panel.update)
