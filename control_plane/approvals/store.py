"""Approvals and decision reports in the control plane's database (`control.db`).

Writes go through the shared `Writer`, one transaction each, joining the caller's when one is
open (so a verdict and its audit entry commit together). Every write is idempotent: a repeated
request or report changes nothing, and a verdict only ever replaces `pending`.
"""

from __future__ import annotations

import json
from typing import Any

from control_plane.approvals.records import (
    VERDICT_STATUSES,
    Approval,
    ApprovalStatus,
    DecisionCounts,
    ReportedOutcome,
)
from control_plane.state.database import Writer

_SELECT_APPROVALS = (
    "SELECT decision_id, site, risk, decision, screening, requested_at, expires_at, status, "
    "actor, comment, decided_at, override, verdict_message_id, verdict_attempts, "
    "verdict_sent_at, verdict_delivered_at, verdict_detail FROM approvals"
)
_SELECT_REPORTS = (
    "SELECT decision_id, outcome, site, risk, action, model_version, at, received_at, payload "
    "FROM decision_reports"
)


class ApprovalStore:
    """Read and change approvals and decision reports."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    # -- approvals ------------------------------------------------------------------
    def add_request(
        self,
        *,
        decision_id: str,
        site: str,
        risk: str,
        decision: dict[str, Any],
        screening: dict[str, Any],
        expires_at: float,
        now: float,
    ) -> bool:
        """Insert a pending approval; False if the decision was asked about before (no change)."""
        with self.writer.transaction() as db:
            cursor = db.execute(
                "INSERT INTO approvals (decision_id, site, risk, decision, screening, "
                "requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (decision_id) DO NOTHING",
                (
                    decision_id,
                    site,
                    risk,
                    json.dumps(decision, sort_keys=True),
                    json.dumps(screening, sort_keys=True),
                    now,
                    expires_at,
                ),
            )
            return bool(cursor.rowcount == 1)

    def get(self, decision_id: str) -> Approval | None:
        """Return the approval of one decision, or None if no agent asked for one."""
        row = self.writer.db.execute(
            _SELECT_APPROVALS + " WHERE decision_id = ?", (decision_id,)
        ).fetchone()
        return _approval(row) if row else None

    def count_pending(self) -> int:
        """Return how many approvals wait for a verdict."""
        row = self.writer.db.execute(
            "SELECT COUNT(*) FROM approvals WHERE status = 'pending'"
        ).fetchone()
        return int(row[0])

    def pending(self, *, limit: int | None = None) -> list[Approval]:
        """Return the approvals waiting for a verdict, oldest request first."""
        rows = self.writer.db.execute(
            _SELECT_APPROVALS + " WHERE status = 'pending' ORDER BY requested_at, decision_id "
            "LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_approval(row) for row in rows]

    def history(
        self,
        *,
        site: str | None = None,
        status: ApprovalStatus | None = None,
        risk: str | None = None,
        limit: int = 100,
    ) -> list[Approval]:
        """Return approvals in any status, newest request first, optionally filtered."""
        filters = {"site": site, "status": status, "risk": risk}
        chosen = {column: value for column, value in filters.items() if value is not None}
        where = " AND ".join(f"{column} = ?" for column in chosen) or "1"
        rows = self.writer.db.execute(
            f"{_SELECT_APPROVALS} WHERE {where} "
            "ORDER BY requested_at DESC, decision_id DESC LIMIT ?",
            (*chosen.values(), limit),
        )
        return [_approval(row) for row in rows]

    def decided(self, *, since: float | None = None) -> list[Approval]:
        """Return approvals a person approved or denied (at or after `since`), oldest first."""
        statuses = ", ".join("?" for _ in VERDICT_STATUSES)
        rows = self.writer.db.execute(
            f"{_SELECT_APPROVALS} WHERE status IN ({statuses}) AND decided_at >= ? "
            "ORDER BY decided_at, decision_id",
            (*VERDICT_STATUSES, 0.0 if since is None else since),
        )
        return [_approval(row) for row in rows]

    def decide(
        self,
        decision_id: str,
        *,
        status: ApprovalStatus,
        actor: str,
        comment: str,
        override: bool,
        verdict_message_id: str | None,
        now: float,
    ) -> bool:
        """Close a pending approval with a status; False if it was not pending (no change)."""
        with self.writer.transaction() as db:
            cursor = db.execute(
                "UPDATE approvals SET status = ?, actor = ?, comment = ?, override = ?, "
                "decided_at = ?, verdict_message_id = ? "
                "WHERE decision_id = ? AND status = 'pending'",
                (status, actor, comment, override, now, verdict_message_id, decision_id),
            )
            return bool(cursor.rowcount == 1)

    def due_to_expire(self, now: float) -> list[Approval]:
        """Return pending approvals whose request expired by `now`."""
        rows = self.writer.db.execute(
            _SELECT_APPROVALS + " WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at",
            (now,),
        )
        return [_approval(row) for row in rows]

    # -- verdict delivery -------------------------------------------------------------
    def undelivered(self, *, site: str | None = None) -> list[Approval]:
        """Return verdicts the agent has not acknowledged yet, oldest verdict first."""
        query = (
            _SELECT_APPROVALS + " WHERE verdict_message_id IS NOT NULL "
            "AND verdict_delivered_at IS NULL"
        )
        params: tuple[str, ...] = ()
        if site is not None:
            query += " AND site = ?"
            params = (site,)
        rows = self.writer.db.execute(query + " ORDER BY decided_at", params)
        return [_approval(row) for row in rows if row[7] in VERDICT_STATUSES]

    def mark_sent(self, decision_ids: list[str], *, now: float) -> None:
        """Record that these verdicts were pushed once more."""
        with self.writer.transaction() as db:
            db.conn.executemany(
                "UPDATE approvals SET verdict_attempts = verdict_attempts + 1, "
                "verdict_sent_at = ? WHERE decision_id = ?",
                [(now, decision_id) for decision_id in decision_ids],
            )

    def mark_delivered(
        self, *, site: str, verdict_message_id: str, detail: str, now: float
    ) -> Approval | None:
        """Record the agent's answer to a verdict; return the approval, None if not ours."""
        with self.writer.transaction() as db:
            cursor = db.execute(
                "UPDATE approvals SET verdict_delivered_at = ?, verdict_detail = ? "
                "WHERE verdict_message_id = ? AND site = ? AND verdict_delivered_at IS NULL",
                (now, detail, verdict_message_id, site),
            )
            if cursor.rowcount != 1:
                return None
            row = db.execute(
                _SELECT_APPROVALS + " WHERE verdict_message_id = ?", (verdict_message_id,)
            ).fetchone()
        return _approval(row)

    # -- decision reports -------------------------------------------------------------
    def add_report(
        self,
        *,
        decision_id: str,
        outcome: str,
        site: str,
        risk: str,
        action: str,
        model_version: int | None,
        at: float,
        payload: dict[str, Any],
        now: float,
    ) -> bool:
        """Insert a decision's outcome; False if that outcome was reported before (no change)."""
        with self.writer.transaction() as db:
            cursor = db.execute(
                "INSERT INTO decision_reports (decision_id, outcome, site, risk, action, "
                "model_version, at, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (decision_id, outcome) DO NOTHING",
                (
                    decision_id,
                    outcome,
                    site,
                    risk,
                    action,
                    model_version,
                    at,
                    now,
                    json.dumps(payload, sort_keys=True),
                ),
            )
            return bool(cursor.rowcount == 1)

    def reports(self, decision_id: str) -> list[ReportedOutcome]:
        """Return what agents reported about one decision, in the order it happened."""
        rows = self.writer.db.execute(
            _SELECT_REPORTS + " WHERE decision_id = ? ORDER BY at, received_at", (decision_id,)
        )
        return [_report(row) for row in rows]

    def owner(self, decision_id: str) -> str | None:
        """Return the site a decision id belongs to (from its request or reports), if known."""
        row = self.writer.db.execute(
            "SELECT site FROM approvals WHERE decision_id = ? UNION ALL "
            "SELECT site FROM decision_reports WHERE decision_id = ? LIMIT 1",
            (decision_id, decision_id),
        ).fetchone()
        return str(row[0]) if row else None

    def counts(self, *, since: float | None = None) -> DecisionCounts:
        """Return decisions by risk, reports by outcome and approvals by status (since a time)."""
        start = 0.0 if since is None else since
        db = self.writer.db
        return DecisionCounts(
            decisions_by_risk=_tally(
                db.execute(
                    "SELECT risk, COUNT(DISTINCT decision_id) FROM decision_reports "
                    "WHERE at >= ? GROUP BY risk",
                    (start,),
                )
            ),
            reports_by_outcome=_tally(
                db.execute(
                    "SELECT outcome, COUNT(*) FROM decision_reports WHERE at >= ? GROUP BY outcome",
                    (start,),
                )
            ),
            approvals_by_status=_tally(
                db.execute(
                    "SELECT status, COUNT(*) FROM approvals WHERE requested_at >= ? "
                    "GROUP BY status",
                    (start,),
                )
            ),
        )


def _tally(rows: Any) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in rows}


def _approval(row: Any) -> Approval:
    return Approval(
        decision_id=row[0],
        site=row[1],
        risk=row[2],
        decision=json.loads(row[3]),
        screening=json.loads(row[4]),
        requested_at=row[5],
        expires_at=row[6],
        status=row[7],
        actor=row[8],
        comment=row[9],
        decided_at=row[10],
        override=bool(row[11]),
        verdict_message_id=row[12],
        verdict_attempts=row[13],
        verdict_sent_at=row[14],
        verdict_delivered_at=row[15],
        verdict_detail=row[16],
    )


def _report(row: Any) -> ReportedOutcome:
    return ReportedOutcome(
        decision_id=row[0],
        outcome=row[1],
        site=row[2],
        risk=row[3],
        action=row[4],
        model_version=row[5],
        at=row[6],
        received_at=row[7],
        payload=json.loads(row[8]),
    )
