"""An outbox whose store runs out of disk for chosen messages."""

from __future__ import annotations

import sqlite3

from edge_agent.transport import Outbox
from edgeward.wire import WireMessage


class FullDiskOutbox:
    """Wrap a real `Outbox`; `put` fails as SQLite does on a full disk while told to.

    `fail_ids` maps a message id suffix (say `.executed`) to how many puts of such messages
    still fail; every other put reaches the real outbox.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.fail_ids: dict[str, int] = {}

    def put(self, message: WireMessage) -> None:
        """Store `message`, or raise `sqlite3.OperationalError` if it is due to fail."""
        for suffix, left in self.fail_ids.items():
            if left > 0 and message.id.endswith(suffix):
                self.fail_ids[suffix] = left - 1
                raise sqlite3.OperationalError("disk I/O error")
        self.outbox.put(message)

    def ids(self) -> list[str]:
        """Return the ids of the messages waiting in the real outbox, oldest first."""
        return [entry.id for entry in self.outbox.entries()]
