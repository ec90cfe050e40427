"""The audit log: every state change, who made it and why, in a hash chain."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from control_plane.state.database import Writer

GENESIS = "0" * 64


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


def entry_hash(
    prev_hash: str, at: float, actor: str, action: str, subject: str, detail: str
) -> str:
    """Return the hash that chains an entry to the one before it."""
    material = json.dumps([prev_hash, repr(at), actor, action, subject, detail])
    return hashlib.sha256(material.encode()).hexdigest()


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
        query = "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit"
        params: list[Any] = []
        if action:
            query += " WHERE action = ?"
            params.append(action)
        query += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [
            AuditEntry(
                id=r[0],
                at=r[1],
                actor=r[2],
                action=r[3],
                subject=r[4],
                detail=json.loads(r[5]),
                prev_hash=r[6],
                hash=r[7],
            )
            for r in self._db.execute(query, params)
        ]

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
