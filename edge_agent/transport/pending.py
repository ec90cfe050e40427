"""Replies the agent is waiting for, by the id of the message they answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edgeward.wire import WireMessage

OnReply = Callable[[WireMessage], None]
OnFailure = Callable[[Exception], None]


@dataclass(kw_only=True, slots=True, frozen=True)
class _Entry:
    deadline: float
    on_reply: OnReply
    on_failure: OnFailure | None


class PendingReplies:
    """Thread-safe map of message id → what to call when its reply arrives (or never does)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def expect(
        self,
        message_id: str,
        on_reply: OnReply,
        *,
        timeout_s: float,
        on_failure: OnFailure | None = None,
    ) -> None:
        """Call `on_reply` with the reply to `message_id` if it arrives within `timeout_s`."""
        entry = _Entry(deadline=self._clock() + timeout_s, on_reply=on_reply, on_failure=on_failure)
        with self._lock:
            self._entries[message_id] = entry

    def forget(self, message_id: str) -> None:
        """Stop waiting for the reply to `message_id`."""
        with self._lock:
            self._entries.pop(message_id, None)

    def resolve(self, reply: WireMessage) -> bool:
        """Hand `reply` to whoever waits for it; return False if nobody does."""
        if reply.reply_to is None:
            return False
        with self._lock:
            entry = self._entries.pop(reply.reply_to, None)
        if entry is None:
            return False
        entry.on_reply(reply)
        return True

    def fail_all(self, error: Exception) -> None:
        """Fail every waiter that has a failure callback (a refusal, a stop)."""
        with self._lock:
            failing = [e for e in self._entries.values() if e.on_failure is not None]
            self._entries = {k: e for k, e in self._entries.items() if e.on_failure is None}
        for entry in failing:
            if entry.on_failure is not None:
                entry.on_failure(error)

    def expire(self) -> int:
        """Drop entries past their deadline; return how many were dropped."""
        now = self._clock()
        with self._lock:
            expired = [key for key, entry in self._entries.items() if entry.deadline <= now]
            for key in expired:
                del self._entries[key]
        return len(expired)


class ReplyWaiter:
    """A one-shot slot a requesting thread blocks on until the reply or a failure arrives."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._reply: WireMessage | None = None
        self._error: Exception | None = None

    def set_reply(self, reply: WireMessage) -> None:
        """Store the reply and wake the waiting thread."""
        self._reply = reply
        self._done.set()

    def set_error(self, error: Exception) -> None:
        """Store a failure and wake the waiting thread."""
        self._error = error
        self._done.set()

    def wait(self, timeout: float) -> WireMessage | None:
        """Return the reply, raise the failure, or return None after `timeout` seconds."""
        if not self._done.wait(timeout):
            return None
        if self._error is not None:
            raise self._error
        return self._reply
