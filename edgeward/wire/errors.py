"""The wire format's one exception: a frame list that is not a message this side can read."""

from __future__ import annotations

from edgeward.errors import EdgewardError


class WireError(EdgewardError):
    """Frames cannot be encoded or decoded; the message says why in one sentence.

    `message_id` is the id the offending header carried, when it had a readable one, so that
    a receiver can still address its error reply to the sender's request.
    """

    exit_code = 9

    def __init__(self, message: str, *, message_id: str | None = None) -> None:
        super().__init__(message)
        self.message_id = message_id
