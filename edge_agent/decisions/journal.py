"""The agent's record of decisions: one row each, whose status only moves forward.

Statuses: `executed` and `notified` (ran; medium risk also told people), `held` (waiting for a
human), `approved` (a person said yes; about to run), `denied`, `expired`, `blocked`, `failed`
(running it raised). Each transition is one conditional UPDATE, so a decision runs at most once
however many verdicts arrive and whatever races them (the expiry, a restart).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from edge_agent.store import AgentStore
from edgeward.risk import Action, Decision, parse_decision
from edgeward.risk.rules import RecentAction
from edgeward.risk.screening import Screening

Status = Literal[
    "executed", "notified", "held", "approved", "denied", "expired", "blocked", "failed"
]
RECENT_WINDOW_S: Final = 3600.0


@dataclass(frozen=True, kw_only=True, slots=True)
class DecisionRow:
    """One decision as the journal holds it."""

    decision: Decision
    screening: dict[str, Any]
    status: Status
    level: str
    expires_at: float | None
    decided_by: str | None
    executed_at: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the row as plain JSON."""
        return {
            "decision": self.decision.model_dump(mode="json"),
            "screening": self.screening,
            "status": self.status,
            "level": self.level,
            "expires_at": self.expires_at,
            "decided_by": self.decided_by,
            "executed_at": self.executed_at,
        }


class DecisionJournal:
    """Decisions of one site in its agent store."""

    def __init__(self, store: AgentStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        decision: Decision,
        screening: Screening,
        status: Status,
        *,
        expires_at: float | None = None,
    ) -> bool:
        """Store a new decision; return False if its id was already recorded (a repeat)."""
        now = self._clock()
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO decisions (id, created_at, action, target, model_version, level, "
                "status, decision, screening, expires_at, executed_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    decision.id,
                    now,
                    decision.action.value,
                    decision.target,
                    decision.model_version,
                    screening.level,
                    status,
                    decision.model_dump_json(),
                    json.dumps(screening.to_dict()),
                    expires_at,
                    now if status in ("executed", "notified") else None,
                    now,
                ),
            )
        return cursor.rowcount == 1

    def advance(
        self, decision_id: str, *, from_: Status, to: Status, by: str | None = None
    ) -> bool:
        """Move a decision from `from_` to `to`; return False if it was not in `from_`."""
        now = self._clock()
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE decisions SET status = ?, updated_at = ?, "
                "decided_by = COALESCE(?, decided_by), "
                "executed_at = CASE WHEN ? IN ('executed', 'notified') THEN ? ELSE executed_at END "
                "WHERE id = ? AND status = ?",
                (to, now, by, to, now, decision_id, from_),
            )
        return cursor.rowcount == 1

    def get(self, decision_id: str) -> DecisionRow | None:
        """Return the decision with this id, if recorded."""
        rows = self._rows("WHERE id = ?", (decision_id,))
        return rows[0] if rows else None

    def held_past(self, now: float) -> list[str]:
        """Return the ids of held decisions whose approval window has closed."""
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT id FROM decisions WHERE status = 'held' AND expires_at IS NOT NULL "
                "AND expires_at <= ?",
                (now,),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def unasked(self) -> list[DecisionRow]:
        """Return held or blocked decisions whose approval request has not been sent yet."""
        return self._rows(
            "WHERE status IN ('held', 'blocked') AND asked_at IS NULL ORDER BY created_at", ()
        )

    def mark_asked(self, decision_id: str) -> None:
        """Note that the decision's approval request is in the outbox."""
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE decisions SET asked_at = ? WHERE id = ?", (self._clock(), decision_id)
            )

    def unreported(self, *, limit: int = 100) -> list[DecisionRow]:
        """Return decisions whose current status has not gone to the outbox, oldest change first.

        A report whose outbox write failed (a full disk) leaves its decision here until a later
        report of the same status is stored; see `DecisionEngine.report_unreported`.
        """
        return self._rows(
            "WHERE reported_status IS NOT status ORDER BY updated_at LIMIT ?", (limit,)
        )

    def mark_reported(self, decision_id: str, outcome: Status) -> None:
        """Note that the report of `outcome` is in the outbox.

        Only while `outcome` is still the decision's status: a slower report of an earlier
        status must not hide a newer one that still needs sending.
        """
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE decisions SET reported_status = ? WHERE id = ? AND status = ?",
                (outcome, decision_id, outcome),
            )

    def recent(self, window_s: float = RECENT_WINDOW_S) -> list[RecentAction]:
        """Return actions that ran or were approved in the last `window_s` seconds."""
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT action, target FROM decisions WHERE created_at >= ? AND status IN "
                "('executed', 'notified', 'approved')",
                (self._clock() - window_s,),
            ).fetchall()
        return [RecentAction(action=Action(row[0]), target=str(row[1])) for row in rows]

    def count_similar(self, action: Action, target: str, window_s: float = RECENT_WINDOW_S) -> int:
        """Return how many decisions for the same action and target ran lately."""
        return sum(1 for r in self.recent(window_s) if r.action is action and r.target == target)

    def newest(self, *, status: Status | None = None, limit: int = 100) -> list[DecisionRow]:
        """Return the newest decisions, optionally only those in `status`."""
        if status is None:
            return self._rows("ORDER BY created_at DESC LIMIT ?", (limit,))
        return self._rows("WHERE status = ? ORDER BY created_at DESC LIMIT ?", (status, limit))

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[DecisionRow]:
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT decision, screening, status, level, expires_at, decided_by, executed_at "  # noqa: S608
                f"FROM decisions {where}",
                args,
            ).fetchall()
        return [
            DecisionRow(
                decision=parse_decision(row[0]),
                screening=json.loads(row[1]),
                status=row[2],
                level=str(row[3]),
                expires_at=row[4],
                decided_by=row[5],
                executed_at=row[6],
            )
            for row in rows
        ]
