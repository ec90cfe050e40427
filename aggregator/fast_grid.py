"""A Grid that waits for replies by polling often instead of every 3 seconds.

Flower's deployment Grid sleeps 3 s between pulls, so a reply that arrives just after a pull
waits up to 3 s. Edgeward's rounds are short (small models, one message per round), so that
wait was a large share of a round; polling every quarter second removes most of it. Everything
else is delegated to Flower's own Grid.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from flwr.app import Message
from flwr.serverapp import Grid

POLL_INTERVAL_S = 0.25


class FastPollingGrid(Grid):
    """Wrap a Grid; only `send_and_receive` changes."""

    def __init__(self, inner: Grid, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self._inner = inner
        self._poll_interval_s = poll_interval_s

    def set_run(self, run: Any) -> None:
        """Delegate to the wrapped grid."""
        self._inner.set_run(run)

    @property
    def run(self) -> Any:
        """Delegate to the wrapped grid."""
        return self._inner.run

    def create_message(self, *args: Any, **kwargs: Any) -> Message:
        """Delegate to the wrapped grid."""
        return self._inner.create_message(*args, **kwargs)

    def get_node_ids(self) -> Iterable[int]:
        """Delegate to the wrapped grid."""
        return self._inner.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Delegate to the wrapped grid."""
        return self._inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Delegate to the wrapped grid."""
        return self._inner.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push messages, then pull replies every poll interval until all came or time ran out."""
        pending = set(self.push_messages(messages))
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending:
            received = list(self.pull_messages(pending))
            replies.extend(received)
            pending.difference_update(m.metadata.reply_to_message_id for m in received)
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(self._poll_interval_s)
        return replies
