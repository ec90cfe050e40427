"""Rollouts: every rollout; the chosen one's waves, sites and per-wave health against the
baseline; pause, resume, abort and roll back, each asking why.

Built once and filled in place every `dashboard.refresh_s`, so an open dialog stays open.
Which buttons show is a table (`CONTROLS`): the permission each needs and the statuses it
applies to; the service layer checks both again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from nicegui import ui
from nicegui.events import GenericEventArguments

from control_plane.access import Permission, Principal
from control_plane.operations import Operations
from control_plane.operations.views import WaveHealth, wave_health
from control_plane.rollout import Rollout
from ui.frame import act, load, number, when
from ui.pages.reason_dialog import ReasonDialog
from ui.wiring import dashboard_settings, operations

RolloutCall = Callable[..., Rollout]


@dataclass(frozen=True, kw_only=True, slots=True)
class RolloutControl:
    """A button on the chosen rollout: who may press it, and when it applies."""

    name: str
    """The button's mark is `action-<name>` (see ui.pages.ACTIONS)."""
    label: str
    icon: str
    permission: Permission
    statuses: tuple[str, ...]
    question: str
    """The dialog's title; `{id}` is the rollout's id."""
    done: str
    """The notification after it worked; `{id}` is the rollout's id."""
    call: Callable[[Operations], RolloutCall]


CONTROLS: Final[tuple[RolloutControl, ...]] = (
    RolloutControl(
        name="pause",
        label="Pause",
        icon="pause",
        permission=Permission.CONTROL_ROLLOUT,
        statuses=("running",),
        question="Pause rollout {id}: no new wave starts until it is resumed.",
        done="Rollout {id} is paused.",
        call=lambda ops: ops.pause,
    ),
    RolloutControl(
        name="resume",
        label="Resume",
        icon="play_arrow",
        permission=Permission.CONTROL_ROLLOUT,
        statuses=("paused",),
        question="Resume rollout {id}: its waves go on.",
        done="Rollout {id} is running again.",
        call=lambda ops: ops.resume,
    ),
    RolloutControl(
        name="abort",
        label="Abort",
        icon="stop",
        permission=Permission.CONTROL_ROLLOUT,
        statuses=("running", "paused"),
        question="Abort rollout {id}: the sites it reached go back to the baseline.",
        done="Rollout {id} is aborted.",
        call=lambda ops: ops.abort,
    ),
    RolloutControl(
        name="roll-back",
        label="Roll back",
        icon="undo",
        permission=Permission.ROLL_BACK,
        statuses=("running", "paused", "completed"),
        question="Roll back rollout {id}: its sites (and the champion, if it moved) go back "
        "to the baseline.",
        done="Rollout {id} is rolled back.",
        call=lambda ops: ops.roll_back,
    ),
)
"""Every control on a rollout, in the order the buttons appear."""


def _column(name: str, label: str, *, align: str = "left") -> dict[str, Any]:
    return {"name": name, "label": label, "field": name, "align": align}


ROLLOUT_COLUMNS: Final = [
    _column("id", "Rollout"),
    _column("version", "Version"),
    _column("baseline", "Baseline"),
    _column("status", "Status"),
    _column("created_by", "Created by"),
    _column("updated", "Updated (UTC)"),
]
WAVE_COLUMNS: Final = [
    _column("wave", "Wave"),
    _column("status", "Status"),
    _column("sites", "Sites", align="right"),
    _column("started", "Started (UTC)"),
    _column("bake_until", "Bakes until (UTC)"),
    _column("verdict", "Verdict"),
]
SITE_COLUMNS: Final = [
    _column("site", "Site"),
    _column("wave", "Wave"),
    _column("status", "Status"),
    _column("baseline_mae", "Baseline MAE", align="right"),
    _column("live_mae", "Live MAE", align="right"),
    _column("detail", "Detail"),
]


def _version(version: int | None) -> str:
    return f"v{version}" if version else "—"


def rollout_row(rollout: Rollout) -> dict[str, Any]:
    """Return a rollout as a table row."""
    return {
        "id": rollout.id,
        "version": _version(rollout.version),
        "baseline": _version(rollout.baseline_version),
        "status": rollout.status.replace("_", " "),
        "created_by": rollout.created_by,
        "updated": when(rollout.updated_at),
    }


def rollout_sentence(rollout: Rollout) -> str:
    """Return where a rollout stands in one sentence (and its last reason, if any)."""
    wave = f", wave {rollout.current_wave + 1} of {len(rollout.waves)}" if rollout.waves else ""
    sentence = (
        f"Rollout {rollout.id}: {_version(rollout.version)} replacing "
        f"{_version(rollout.baseline_version)}, {rollout.status.replace('_', ' ')}{wave}."
    )
    return f"{sentence} Last change: {rollout.reason}" if rollout.reason else sentence


def wave_rows(rollout: Rollout, health: list[WaveHealth]) -> list[dict[str, Any]]:
    """Return a rollout's waves as table rows."""
    sizes = {h.wave: h.sites for h in health}
    return [
        {
            "wave": wave.wave + 1,
            "status": wave.status,
            "sites": sizes.get(wave.wave, 0),
            "started": when(wave.started_at),
            "bake_until": when(wave.bake_until),
            "verdict": wave.verdict or "—",
        }
        for wave in rollout.waves
    ]


def site_rows(rollout: Rollout) -> list[dict[str, Any]]:
    """Return a rollout's sites as table rows."""
    return [
        {
            "site": site.site,
            "wave": site.wave + 1,
            "status": site.status.replace("_", " "),
            "baseline_mae": number(site.baseline_mae),
            "live_mae": number(site.live_mae),
            "detail": site.detail or "—",
        }
        for site in rollout.sites
    ]


def health_chart(health: list[WaveHealth]) -> dict[str, Any]:
    """Return ECharts options: each wave's mean live MAE against its baseline MAE."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": ["baseline MAE", "live MAE"]},
        "xAxis": {"type": "category", "data": [f"wave {h.wave + 1}" for h in health]},
        "yAxis": {"type": "value", "name": "MAE"},
        "series": [
            {"name": "baseline MAE", "type": "bar", "data": [h.baseline_mae for h in health]},
            {"name": "live MAE", "type": "bar", "data": [h.live_mae for h in health]},
        ],
    }


class RolloutsPanel:
    """The page's parts, filled in place from the service layer."""

    def __init__(self, who: Principal) -> None:
        self.who = who
        self.dialog = ReasonDialog()
        self.shown: Rollout | None = None
        self.rollouts = ui.table(columns=ROLLOUT_COLUMNS, rows=[], row_key="id", pagination=10)
        self.rollouts.classes("w-full").mark("rollouts")
        self.rollouts.on("rowClick", self._clicked)
        with ui.row().classes("items-center gap-4"):
            self.choice = ui.select({}, label="Rollout", on_change=self._chosen)
            self.choice.mark("rollout-choice")
            self.buttons = {
                control.name: self._button(control)
                for control in CONTROLS
                if who.can(control.permission)
            }
        self.summary = ui.label().mark("rollout-summary")
        with ui.row().classes("w-full gap-4"):
            with ui.card().classes("flex-1"):
                ui.label("Waves").classes("text-lg")
                self.waves = ui.table(columns=WAVE_COLUMNS, rows=[], row_key="wave")
                self.waves.classes("w-full").mark("waves")
            with ui.card().classes("flex-1"):
                ui.label("Per-wave health against the baseline").classes("text-lg")
                self.chart = ui.echart(health_chart([])).classes("w-full h-64")
                self.chart.mark("wave-health")
        self.sites = ui.table(columns=SITE_COLUMNS, rows=[], row_key="site", pagination=50)
        self.sites.classes("w-full").mark("rollout-sites")

    def _button(self, control: RolloutControl) -> ui.button:
        async def press() -> None:
            await self.control(control)

        button = ui.button(control.label, icon=control.icon, on_click=press)
        button.mark(f"action-{control.name}").visible = False
        return button

    async def update(self) -> None:
        """Reload the rollouts and the chosen one."""
        rollouts = await load(operations().rollouts, self.who)
        self.rollouts.rows = [rollout_row(r) for r in rollouts]
        labels = {r.id: f"Rollout {r.id} · v{r.version} · {r.status}" for r in rollouts}
        chosen = self.choice.value if self.choice.value in labels else None
        if chosen is None and rollouts:
            active = [r.id for r in rollouts if r.status in ("running", "paused")]
            chosen = active[0] if active else rollouts[0].id
        self.choice.set_options(labels, value=chosen)
        self.show(next((r for r in rollouts if r.id == chosen), None))

    def show(self, rollout: Rollout | None) -> None:
        """Fill the chosen rollout's parts (or say there is none)."""
        self.shown = rollout
        for control in CONTROLS:
            if control.name in self.buttons:
                status = rollout.status if rollout else None
                self.buttons[control.name].visible = status in control.statuses
        if rollout is None:
            self.summary.text = "No rollout has started yet."
            return
        health = wave_health(rollout)
        self.summary.text = rollout_sentence(rollout)
        self.waves.rows = wave_rows(rollout, health)
        self.sites.rows = site_rows(rollout)
        self.chart.options.clear()
        self.chart.options.update(health_chart(health))
        self.chart.update()

    async def _chosen(self) -> None:
        if self.choice.value is not None:
            self.show(await load(operations().rollout, self.who, int(self.choice.value)))

    def _clicked(self, event: GenericEventArguments) -> None:
        row = event.args[1] if isinstance(event.args, list) and len(event.args) > 1 else None
        if isinstance(row, dict) and "id" in row:
            self.choice.value = row["id"]

    async def control(self, control: RolloutControl) -> None:
        """Ask why, then apply `control` to the rollout shown."""
        if self.shown is None:
            return
        rollout_id = self.shown.id
        answer = await self.dialog.ask(control.question.format(id=rollout_id))
        if answer is None:
            return
        call = control.call(operations())
        changed = await act(call, self.who, rollout_id, reason=answer.reason)
        if changed is not None:
            ui.notify(control.done.format(id=rollout_id), type="positive")
        await self.update()


async def rollouts_page(who: Principal) -> None:
    """Show the rollouts and the chosen one, refreshed every `dashboard.refresh_s`."""
    panel = RolloutsPanel(who)
    await panel.update()
    ui.timer(dashboard_settings().refresh_s, panel.update)
