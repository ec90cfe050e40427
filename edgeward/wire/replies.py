"""Generic replies: an acknowledgement, or an error with a code and a sentence.

Neither changes state, so neither needs deduplication.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from edgeward.wire.base import ID_PATTERN, WireMessage


class ErrorCode(StrEnum):
    """Why a message was not handled. Only `INTERNAL` is worth resending unchanged."""

    BAD_MESSAGE = "bad_message"
    UNSUPPORTED = "unsupported"
    SITE_MISMATCH = "site_mismatch"
    REJECTED = "rejected"
    INTERNAL = "internal"


class Ack(WireMessage):
    """Acknowledge the message `reply_to`: received and handled (`ok`) or refused (`detail`)."""

    type: Literal["ack"] = "ack"
    reply_to: str | None = Field(default=None, pattern=ID_PATTERN)
    ok: bool = True
    detail: str = Field(default="", max_length=4096)


class ErrorReply(WireMessage):
    """Say that the message `reply_to` could not be handled, with a code and a sentence."""

    type: Literal["error"] = "error"
    code: Annotated[ErrorCode, Field(strict=False)]
    detail: str = Field(max_length=4096)
