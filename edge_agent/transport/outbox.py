"""Store and forward: messages for the control plane wait in SQLite until it acknowledges them.

`put()` commits the message to the agent's store and returns; it never touches the network,
so the agent keeps working offline. A forwarder thread sends what is pending whenever the
link is connected and deletes each message once the control plane answers it; a message not
answered within `resend_after_s` is sent again with the same id. The control plane's
handlers are idempotent (see `edgeward.wire`), so a resend is harmless. Messages are sent in
the order they were put, but a resend may overtake newer messages.

What counts as an answer: an `Ack` (or any reply other than an `ErrorReply`) deletes the
message (an `Ack` with `ok` false is logged); an `ErrorReply` with code `internal` leaves it
for a resend; any other `ErrorReply` means resending cannot help, so it is logged and
deleted.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge_agent.store import AgentStore
from edge_agent.transport.errors import TransportError
from edge_agent.transport.pending import OnReply
from edgeward.wire import Ack, ErrorCode, ErrorReply, WireError, WireMessage, decode, encode

log = logging.getLogger(__name__)


class MessageLink(Protocol):
    """What the outbox needs of a connection (`CurveClient` is one)."""

    connected: threading.Event

    def send(
        self, message: WireMessage, *, on_reply: OnReply | None = ..., reply_timeout_s: float = ...
    ) -> None:
        """Queue `message`; call `on_reply` with its reply."""


@dataclass(kw_only=True, slots=True, frozen=True)
class OutboxEntry:
    """A message waiting for the control plane's acknowledgement."""

    id: str
    type: str
    created_at: float
    attempts: int
    last_attempt_at: float | None


class Outbox:
    """Durable queue of messages for the control plane, drained by a forwarder thread."""

    def __init__(
        self,
        store: AgentStore,
        link: MessageLink,
        *,
        resend_after_s: float = 10.0,
        batch_size: int = 100,
        max_wait_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._link = link
        self._resend_after_s = resend_after_s
        self._batch_size = batch_size
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._answers: queue.SimpleQueue[WireMessage] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, message: WireMessage) -> None:
        """Store `message` durably (committed on return); a message id already stored is kept.

        When the link is up and nothing older waits to be sent, the message is also handed
        to the link at once, in the same transaction that records the attempt: the forwarder
        would send it anyway, a thread hop and another commit later. Otherwise (offline, or
        a backlog it must not overtake) it waits for the forwarder.
        """
        frames = encode(message)
        payload = frames[1] if len(frames) > 1 else None
        now = self._clock()
        with self._store.transaction() as conn:
            send_now = (
                self._link.connected.is_set()
                and not conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE last_attempt_at IS NULL)"
                ).fetchone()[0]
            )
            inserted = conn.execute(
                "INSERT INTO outbox (id, type, header, payload, created_at, attempts, "
                "last_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    message.id,
                    message.type,
                    frames[0],
                    payload,
                    now,
                    1 if send_now else 0,
                    now if send_now else None,
                ),
            ).rowcount
        if send_now and inserted:
            try:
                self._link.send(
                    message, on_reply=self._on_answer, reply_timeout_s=self._resend_after_s
                )
            except TransportError as err:  # stopping: it is stored, resent after a restart
                log.info("outbox message %s stays stored: %s", message.id, err)
        self._wake.set()

    def backlog(self) -> int:
        """Return how many messages wait for an acknowledgement."""
        with self._store.transaction() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def entries(self) -> list[OutboxEntry]:
        """Return the waiting messages, oldest first."""
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT id, type, created_at, attempts, last_attempt_at FROM outbox "
                "ORDER BY created_at, rowid"
            ).fetchall()
        return [
            OutboxEntry(id=r[0], type=r[1], created_at=r[2], attempts=r[3], last_attempt_at=r[4])
            for r in rows
        ]

    def start(self) -> None:
        """Start forwarding in a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-forwarder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop forwarding; what is not acknowledged stays stored for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def forward_once(self) -> float:
        """Settle answers and send what is due; return the seconds until something is due."""
        self._settle_answers()
        if not self._link.connected.is_set():
            return self._max_wait_s
        now = self._clock()
        due = self._claim_due(now)
        for message_id, frames in due:
            self._send(message_id, frames)
        if len(due) == self._batch_size:
            return 0.0
        return self._seconds_until_due(now)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.forward_once()
            except Exception:
                log.exception("forwarding the outbox failed; trying again shortly")
                delay = self._max_wait_s
            self._wake.wait(delay)
            self._wake.clear()

    def _on_answer(self, reply: WireMessage) -> None:
        # Runs in the link's I/O thread: hand over and return at once.
        self._answers.put(reply)
        self._wake.set()

    def _settle_answers(self) -> None:
        delivered: list[str] = []
        while True:
            try:
                reply = self._answers.get_nowait()
            except queue.Empty:
                break
            if reply.reply_to is not None and _is_delivered(reply):
                delivered.append(reply.reply_to)
        if delivered:
            with self._store.transaction() as conn:
                conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in delivered])

    def _claim_due(self, now: float) -> list[tuple[str, list[bytes]]]:
        with self._store.transaction() as conn:
            rows = conn.execute(
                "SELECT id, header, payload FROM outbox "
                "WHERE last_attempt_at IS NULL OR last_attempt_at <= ? "
                "ORDER BY created_at, rowid LIMIT ?",
                (now - self._resend_after_s, self._batch_size),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?",
                [(now, row[0]) for row in rows],
            )
        return [(row[0], [row[1]] if row[2] is None else [row[1], row[2]]) for row in rows]

    def _send(self, message_id: str, frames: list[bytes]) -> None:
        try:
            message = decode(frames)
        except WireError as err:
            log.error(
                "outbox message %s can no longer be read (%s); it was dropped", message_id, err
            )
            with self._store.transaction() as conn:
                conn.execute("DELETE FROM outbox WHERE id = ?", (message_id,))
            return
        self._link.send(message, on_reply=self._on_answer, reply_timeout_s=self._resend_after_s)

    def _seconds_until_due(self, now: float) -> float:
        with self._store.transaction() as conn:
            oldest = conn.execute("SELECT MIN(last_attempt_at) FROM outbox").fetchone()[0]
        if oldest is None:
            return self._max_wait_s
        return min(self._max_wait_s, max(0.0, float(oldest) + self._resend_after_s - now))


def _is_delivered(reply: WireMessage) -> bool:
    """Return whether `reply` settles the message it answers (see the module docstring)."""
    if isinstance(reply, ErrorReply):
        if reply.code == ErrorCode.INTERNAL:
            log.warning("the control plane failed to handle %s; it will be resent", reply.reply_to)
            return False
        log.error(
            "the control plane refused outbox message %s (%s: %s); resending cannot help, "
            "so it was dropped",
            reply.reply_to,
            reply.code,
            reply.detail,
        )
        return True
    if isinstance(reply, Ack) and not reply.ok:
        log.warning(
            "the control plane declined outbox message %s: %s", reply.reply_to, reply.detail
        )
    return True
