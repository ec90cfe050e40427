"""Operators' verdicts as labelled risk cases, for `edgeward risk tune --verdicts FILE`.

Each approved or denied request becomes one line in the labelled-cases format that
`edgeward.risk.cases.load_cases` reads:

    {"decision": <Decision JSON as stored>, "label": "<level>",
     "why": "operator <actor> <approved|denied> it: <comment>"}

Expired and pending requests are left out: no one judged them. The label follows from the
verdict and the level the agent screened the decision at, by one table (`VERDICT_LABELS`).
The file is replaced atomically, so a reader never sees half an export. See docs/approvals.md
and docs/risk-labelling.md.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from control_plane.approvals.errors import ExportFailed
from control_plane.approvals.records import VERDICT_STATUSES, Approval, ApprovalStatus
from edgeward.bundles.durable import replace_file
from edgeward.risk import RISK_LEVELS, RiskLevel
from edgeward.risk.decision import DecisionError, parse_decision

log = logging.getLogger(__name__)

VERDICT_LABELS: Final[dict[tuple[ApprovalStatus, RiskLevel], RiskLevel]] = {
    # A denial: the operator agrees it must not run unasked.
    ("denied", "high"): "high",
    # ... and says nothing milder about a critical one, so it keeps the stricter level.
    ("denied", "critical"): "critical",
    # An approval of a high decision: acceptable here; it could have run and notified.
    ("approved", "high"): "medium",
    # An approval of a critical decision (the desk requires an admin override): acceptable,
    # but only after a person looked, so it still needs one.
    ("approved", "critical"): "high",
}
"""The label of an exported case, by (verdict, the level the agent screened it at)."""


@dataclass(kw_only=True, slots=True, frozen=True)
class VerdictExport:
    """What an export wrote: cases per label, and the verdicts it left out and why."""

    path: Path
    by_label: dict[RiskLevel, int]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def written(self) -> int:
        """Return how many cases the file holds."""
        return sum(self.by_label.values())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "output": str(self.path),
            "written": self.written,
            "by_label": dict(self.by_label),
            "skipped": dict(self.skipped),
        }


def verdict_label(approval: Approval) -> RiskLevel | None:
    """Return the label an approval's verdict gives its decision; None if it gives none."""
    return VERDICT_LABELS.get((approval.status, approval.risk))


def verdict_case(approval: Approval, label: RiskLevel) -> dict[str, Any]:
    """Return an approval as one labelled case (a line of a verdicts file, not yet JSON).

    The decision is the one stored with the request, under the id the verdict was given to.
    """
    return {
        "decision": {**approval.decision, "id": approval.decision_id},
        "label": label,
        "why": f"operator {approval.actor} {approval.status} it: {approval.comment}",
    }


def export_verdicts(approvals: Iterable[Approval], path: Path) -> VerdictExport:
    """Write the approved and denied decisions among `approvals` to `path` as labelled cases."""
    by_label: dict[RiskLevel, int] = dict.fromkeys(RISK_LEVELS, 0)
    skipped: dict[str, str] = {}
    lines: list[str] = []
    for approval in approvals:
        problem, case = _case_or_problem(approval)
        if case is None:
            skipped[approval.decision_id] = problem
            log.warning("left decision %s out of the export: %s", approval.decision_id, problem)
            continue
        by_label[case["label"]] += 1
        lines.append(json.dumps(case, sort_keys=True) + "\n")
    try:
        replace_file(path, "".join(lines).encode("utf-8"))
    except OSError as err:
        raise ExportFailed(f"cannot write the verdicts to {path}: {err.strerror or err}") from err
    log.info("exported %d verdict(s) to %s", len(lines), path)
    return VerdictExport(path=path, by_label=by_label, skipped=skipped)


def parse_since(text: str) -> float:
    """Return a time given as unix seconds or ISO 8601 (UTC unless it says) as unix seconds."""
    try:
        seconds = float(text)
    except ValueError:
        return _parse_iso(text)
    if not math.isfinite(seconds):
        raise ExportFailed(f"{text!r} is not a time")
    return seconds


def _parse_iso(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise ExportFailed(
            f"{text!r} is neither unix seconds nor an ISO 8601 time "
            "(such as 2026-12-01 or 2026-12-01T08:00:00+01:00)"
        ) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _case_or_problem(approval: Approval) -> tuple[str, dict[str, Any] | None]:
    """Return ("", case), or (why the approval cannot be a case, None)."""
    if approval.status not in VERDICT_STATUSES:
        return f"it is {approval.status}: no one judged it", None
    label = verdict_label(approval)
    if label is None:
        return f"an {approval.status} {approval.risk} decision has no label", None
    case = verdict_case(approval, label)
    try:
        parse_decision(case["decision"])
    except DecisionError as err:
        return f"its stored decision is not a valid decision any more ({err})", None
    return "", case
