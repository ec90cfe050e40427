"""The audit log: every state change, who made it and why, in a hash chain."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from control_plane.state.database import Writer

GENESIS = "0" * 64
_SELECT = "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit"


@dataclass(kw_only=True, slots=True, frozen=True)
class AuditEntry:
    """One recorded action."""

    id: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as plain JSON."""
        return asdict(self)


def entry_hash(
    prev_hash: str, at: float, actor: str, action: str, subject: str, detail: str
) -> str:
    """Return the hash that chains an entry to the one before it."""
    material = json.dumps([prev_hash, repr(at), actor, action, subject, detail])
    return hashlib.sha256(material.encode()).hexdigest()


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        id=r[0],
        at=r[1],
        actor=r[2],
        action=r[3],
        subject=r[4],
        detail=json.loads(r[5]),
        prev_hash=r[6],
        hash=r[7],
    )


class AuditLog:
    """Append entries and check that the chain is whole."""

    def __init__(self, writer: Writer) -> None:
        # Appends go through the shared writer: on one connection, an insert made outside
        # its lock would silently join (and could be rolled back with) another thread's
        # transaction.
        self._writer = writer
        self._db = writer.db

    def record(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        detail: dict[str, Any] | None = None,
        now: float | None = None,
    ) -> AuditEntry:
        """Append an entry (inside the caller's transaction if one is open)."""
        at = time.time() if now is None else now
        text = json.dumps(detail or {}, sort_keys=True, default=str)
        with self._writer.transaction() as db:
            row = db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            digest = entry_hash(prev, at, actor, action, subject, text)
            cursor = db.execute(
                "INSERT INTO audit (at, actor, action, subject, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at, actor, action, subject, text, prev, digest),
            )
        return AuditEntry(
            id=int(cursor.lastrowid or 0),
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=json.loads(text),
            prev_hash=prev,
            hash=digest,
        )

    def entries(self, *, limit: int = 1000, action: str | None = None) -> list[AuditEntry]:
        """Return entries, oldest first, optionally of one action."""
        query = _SELECT
        params: list[Any] = []
        if action:
            query += " WHERE action = ?"
            params.append(action)
        query += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_entry(r) for r in self._db.execute(query, params)]

    def search(
        self,
        *,
        actor: str | None = None,
        action_prefix: str | None = None,
        subject: str | None = None,
        since: float | None = None,
        before_id: int | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Return the newest entries matching every filter given, newest first.

        `action_prefix` matches whole dotted parts (`rollout` finds `rollout.start`);
        `before_id` pages back through older entries.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if actor:
            clauses.append("actor = ?")
            params.append(actor)
        if action_prefix:
            clauses.append("(action = ? OR action LIKE ? ESCAPE '\\')")
            escaped = action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.extend([action_prefix, f"{escaped}.%"])
        if subject:
            clauses.append("subject = ?")
            params.append(subject)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        rows = self._db.execute(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", params)
        return [_entry(r) for r in rows]

    def count(self) -> int:
        """Return how many entries the log holds."""
        return int(self._db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def verify(self) -> tuple[bool, int | None]:
        """Return (whole, id of the first broken entry or None)."""
        prev = GENESIS
        for r in self._db.execute(
            "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id"
        ):
            if r[6] != prev or entry_hash(prev, r[1], r[2], r[3], r[4], r[5]) != r[7]:
                return False, int(r[0])
            prev = r[7]
        return True, None
