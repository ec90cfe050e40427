"""`edgeward approvals ...`: see held decisions, approve or deny them, read their history.

`export` writes the verdicts as labelled cases for `edgeward risk tune --verdicts`.

Commands work on the control plane's state on this host; the serving control plane pushes a
verdict to its site at its next tick and until the agent acknowledges it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from control_plane.approvals import (
    APPROVAL_STATUSES,
    Approval,
    ApprovalError,
    ApprovalStatus,
    DecisionTrail,
    ReportedOutcome,
    VerdictExport,
    export_verdicts,
    parse_since,
)
from control_plane.local import open_local
from control_plane.model_tables import key_value_table
from control_plane.operator_options import ConfigOption, TokenOption, UrlOption, operator
from control_plane.remote import RemoteControlPlane
from edgeward.cli.options import JsonOption

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
IdArgument = Annotated[str, typer.Argument(help="The decision's id.")]
CommentOption = Annotated[
    str, typer.Option("--comment", help="Why: kept in the audit log and sent to the agent.")
]
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who gives the verdict. Default: cli:<login name>.", show_default=False
    ),
]


@app.callback()
def approvals() -> None:
    """Approve or deny held decisions; see decision history."""


@app.command("list")
def list_approvals(
    show_all: Annotated[
        bool, typer.Option("--all", help="Every request, newest first, not just pending ones.")
    ] = False,
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site; implies --all.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status; implies --all.")
    ] = None,
    risk: Annotated[
        str | None, typer.Option("--risk", help="Only this risk; implies --all.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (with --all).")] = 100,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List decisions waiting for a verdict, oldest first (--all: every request)."""
    every = show_all or any(value is not None for value in (site, status, risk))
    if url:
        remote = RemoteControlPlane(url, token)
        wanted = _status(status) if every else "pending"
        found = remote.get("/approvals", status=wanted, limit=limit)
        listed = [Approval(**item) for item in found]
        listed = [a for a in listed if site in (None, a.site) and risk in (None, a.risk)]
        if not every:
            listed.reverse()  # pending ones oldest first, as on this host
    elif every:
        desk = open_local(config).approvals
        listed = desk.history(site=site, status=_status(status), risk=risk, limit=limit)
    else:
        listed = open_local(config).approvals.pending()
    if as_json:
        typer.echo(json.dumps([approval.to_dict() for approval in listed], indent=2))
        return
    if not listed:
        console.print("No approval request matches." if every else "No decision waits.")
        return
    console.print(_approvals_table(listed, pending_only=not every))


@app.command()
def show(
    decision_id: IdArgument,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Show a decision: what it proposes, how it was screened, its verdict and reports."""
    if url:
        trail = _remote_trail(RemoteControlPlane(url, token).get(f"/approvals/{decision_id}"))
    else:
        trail = open_local(config).approvals.trail(decision_id)
    if as_json:
        typer.echo(json.dumps(trail.to_dict(), indent=2))
        return
    console.print(render(trail))


@app.command()
def approve(
    decision_id: IdArgument,
    comment: CommentOption,
    override: Annotated[
        bool, typer.Option("--override", help="An admin's override, needed for critical ones.")
    ] = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Approve a held decision; its site runs it once the verdict reaches it.

    With --url the verdict is given under the token's owner (an admin's token overrides).
    """
    if url:
        given = RemoteControlPlane(url, token).post(
            f"/approvals/{decision_id}/approve", {"comment": comment}
        )
        _verdict_given(Approval(**given), as_json=as_json)
        return
    approval = open_local(config).approvals.approve(
        decision_id, actor=actor or operator(), comment=comment, override=override
    )
    _verdict_given(approval, as_json=as_json)


@app.command()
def deny(
    decision_id: IdArgument,
    comment: CommentOption,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Deny a held decision; its site drops it (with --url: under the token's owner)."""
    if url:
        given = RemoteControlPlane(url, token).post(
            f"/approvals/{decision_id}/deny", {"comment": comment}
        )
        _verdict_given(Approval(**given), as_json=as_json)
        return
    approval = open_local(config).approvals.deny(
        decision_id, actor=actor or operator(), comment=comment
    )
    _verdict_given(approval, as_json=as_json)


@app.command()
def export(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the labelled cases (JSON lines)."),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only verdicts given at or after this time: unix seconds or ISO 8601 (UTC "
            "unless it says).",
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write approved and denied decisions as labelled cases for `edgeward risk tune --verdicts`."""
    start = None if since is None else parse_since(since)
    exported = export_verdicts(open_local(config).approvals.decided(since=start), output)
    if as_json:
        typer.echo(json.dumps(exported.to_dict(), indent=2))
        return
    console.print(_export_table(exported))
    for decision_id, reason in exported.skipped.items():
        console.print(escape(f"left out decision {decision_id}: {reason}"))


def _remote_trail(found: dict[str, Any]) -> DecisionTrail:
    """Return the decision trail a remote control plane answered."""
    approval = found["approval"]
    return DecisionTrail(
        decision_id=found["decision_id"],
        approval=None if approval is None else Approval(**approval),
        reports=[ReportedOutcome(**report) for report in found["reports"]],
    )


def _export_table(exported: VerdictExport) -> Table:
    table = Table(title=escape(f"Verdicts exported to {exported.path}"))
    table.add_column("label")
    table.add_column("cases", justify="right")
    for label, count in exported.by_label.items():
        table.add_row(label, str(count))
    table.add_row("total", str(exported.written), style="bold")
    return table


def _verdict_given(approval: Approval, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(approval.to_dict(), indent=2))
        return
    console.print(
        f"decision {approval.decision_id} {approval.status} ({approval.risk}, "
        f"{approval.site}); the control plane sends the verdict to the site"
    )


def _status(status: str | None) -> ApprovalStatus | None:
    if status is None:
        return None
    for known in APPROVAL_STATUSES:
        if status == known:
            return known
    raise ApprovalError(f"status must be one of {', '.join(APPROVAL_STATUSES)}, not {status!r}")


def _approvals_table(listed: list[Approval], *, pending_only: bool) -> Table:
    now = time.time()
    table = Table(title="Decisions waiting for a verdict" if pending_only else "Approval requests")
    table.add_column("decision", no_wrap=True)
    for column in ("site", "risk", "action"):
        table.add_column(column, overflow="fold")
    if pending_only:
        table.add_column("summary", overflow="fold", ratio=1)
        table.add_column("waiting", no_wrap=True)
        table.add_column("expires in", no_wrap=True)
    else:
        table.add_column("status", no_wrap=True)
        table.add_column("by", overflow="fold")
        table.add_column("comment", overflow="fold", ratio=1)
    for approval in listed:
        row = [approval.decision_id, approval.site, approval.risk, approval.action]
        if pending_only:
            row += [
                approval.summary,
                _span(now - approval.requested_at),
                _span(approval.expires_at - now),
            ]
        else:
            row += [approval.status, approval.actor or "-", approval.comment or "-"]
        table.add_row(*row)
    return table


def render(trail: DecisionTrail) -> Group:
    """Return a decision as tables: its verdict, the decision, its screening and reports."""
    parts: list[Any] = []
    if trail.approval is not None:
        parts.append(_verdict_table(trail.approval))
    parts.append(key_value_table(f"Decision {trail.decision_id}", trail.decision))
    parts.extend(_screening_tables(trail.screening))
    reports = Table(title="Reports")
    for column in ("at", "outcome", "risk", "model version"):
        reports.add_column(column)
    for report in trail.reports:
        version = "-" if report.model_version is None else str(report.model_version)
        reports.add_row(_time(report.at), report.outcome, report.risk, version)
    if not trail.reports:
        reports.add_row("-", "(none yet)", "", "")
    parts.append(reports)
    return Group(*parts)


def _verdict_table(approval: Approval) -> Table:
    table = Table(title="Approval", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    table.add_row("status", approval.status)
    table.add_row("site", approval.site)
    table.add_row("risk", approval.risk)
    table.add_row("requested", _time(approval.requested_at))
    table.add_row("expires", _time(approval.expires_at))
    if approval.decided_at is not None:
        table.add_row("decided", f"{_time(approval.decided_at)} by {approval.actor}")
        table.add_row("comment", approval.comment or "-")
        table.add_row("override", "yes" if approval.override else "no")
    if approval.verdict_message_id is not None:
        table.add_row("verdict delivered", _delivery(approval))
    return table


def _delivery(approval: Approval) -> str:
    if approval.verdict_delivered_at is None:
        return f"not yet ({approval.verdict_attempts} push(es))"
    detail = f": {approval.verdict_detail}" if approval.verdict_detail else ""
    return f"{_time(approval.verdict_delivered_at)}{detail}"


def _screening_tables(screening: Mapping[str, Any]) -> list[Table]:
    """Return the screening's summary, and its layers as rows when it lists them."""
    rows = _layer_rows(screening.get("layers"))
    rest = {key: value for key, value in screening.items() if key != "layers"}
    tables = [key_value_table("Screening", rest if rows else screening)]
    if rows:
        table = Table(title="Screening layers")
        for column in ("layer", "level", "reasons", "rationale"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tables


def _layer_rows(layers: Any) -> list[tuple[str, str, str, str]]:
    """Return (layer, level, reasons, rationale) rows of a list or mapping of layer objects."""
    if isinstance(layers, Mapping):
        named = [(str(name), value) for name, value in layers.items()]
    elif isinstance(layers, list):
        named = [("", value) for value in layers]
    else:
        return []
    rows = []
    for name, layer in named:
        if not isinstance(layer, Mapping):
            return []
        reasons = layer.get("reasons", [])
        rows.append(
            (
                str(layer.get("layer") or layer.get("name") or name or "-"),
                str(layer.get("level") or "-"),
                "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons),
                str(layer.get("rationale", "")),
            )
        )
    return rows


def _time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


SPANS = ((86_400, "d"), (3_600, "h"), (60, "min"))
"""Units for short durations, largest first."""


def _span(seconds: float) -> str:
    """Return a duration as people read it at a glance: 40s, 12min, 3h, 2d ("-" if past)."""
    if seconds <= 0:
        return "-"
    for size, unit in SPANS:
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
