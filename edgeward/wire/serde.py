"""The one place messages become frames and frames become messages.

A message is `[header]` or, for a message with a binary payload (`BundleChunk`),
`[header, payload]`; the header is the message as compact UTF-8 JSON without the payload.
`decode` raises `WireError`, and nothing else, for any frames it cannot accept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from pydantic import ValidationError

from edgeward.wire.base import (
    ID_PATTERN,
    MAX_CHUNK_BYTES,
    MAX_HEADER_BYTES,
    WIRE_VERSION,
    WireMessage,
)
from edgeward.wire.decisions import ApprovalRequest, ApprovalVerdict, DecisionReport
from edgeward.wire.errors import WireError
from edgeward.wire.models import BundleChunk, FetchChunk, ModelOffer
from edgeward.wire.replies import Ack, ErrorReply
from edgeward.wire.rollout import ActivationResult, RollbackOrder
from edgeward.wire.session import Heartbeat, HeartbeatAck, Hello, HelloAck

_CLASSES: Final[tuple[type[WireMessage], ...]] = (
    Hello,
    HelloAck,
    Heartbeat,
    HeartbeatAck,
    ModelOffer,
    FetchChunk,
    BundleChunk,
    ActivationResult,
    RollbackOrder,
    DecisionReport,
    ApprovalRequest,
    ApprovalVerdict,
    Ack,
    ErrorReply,
)

MESSAGE_TYPES: Final[dict[str, type[WireMessage]]] = {cls.type_name(): cls for cls in _CLASSES}
"""Every message class by its `type` literal."""

SUPPORTED_VERSIONS: Final = frozenset({WIRE_VERSION})

_ID = re.compile(ID_PATTERN)


def encode(message: WireMessage) -> list[bytes]:
    """Return the frames that carry `message`."""
    if MESSAGE_TYPES.get(message.type) is not type(message):
        raise WireError(f"{type(message).__name__} is not a registered wire message")
    field = message.PAYLOAD_FIELD
    exclude = {field} if field else None
    header = message.model_dump_json(exclude=exclude).encode("utf-8")
    if len(header) > MAX_HEADER_BYTES:
        raise WireError(
            f"the {message.type} message is {len(header)} bytes of JSON; "
            f"the limit is {MAX_HEADER_BYTES}",
            message_id=message.id,
        )
    if field is None:
        return [header]
    payload = getattr(message, field)
    return [header, bytes(payload)]


def decode(frames: Sequence[bytes]) -> WireMessage:
    """Return the message `frames` carry, or raise `WireError` saying what is wrong with them."""
    if not 1 <= len(frames) <= 2:
        raise WireError(f"a message has one or two frames, not {len(frames)}")
    header = _parse_header(frames[0])
    message_id = _readable_id(header.get("id"))
    cls = _message_class(header, message_id)
    field = cls.PAYLOAD_FIELD
    if field is None:
        if len(frames) != 1:
            _fail(f"a {cls.type_name()} message has no payload frame", message_id)
    else:
        if len(frames) != 2:
            _fail(f"a {cls.type_name()} message needs its payload frame", message_id)
        if len(frames[1]) > MAX_CHUNK_BYTES:
            _fail(
                f"the payload is {len(frames[1])} bytes; the limit is {MAX_CHUNK_BYTES}",
                message_id,
            )
        header[field] = bytes(frames[1])
    try:
        return cls.model_validate(header)
    except ValidationError as err:
        _fail(f"the {cls.type_name()} message is invalid: {_describe(err)}", message_id)
    except RecursionError:
        _fail(f"the {cls.type_name()} message is nested too deeply", message_id)


def _readable_id(value: object) -> str | None:
    return value if isinstance(value, str) and _ID.match(value) else None


def _parse_header(frame: bytes) -> dict[str, Any]:
    if len(frame) > MAX_HEADER_BYTES:
        raise WireError(f"the header is {len(frame)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        document = json.loads(bytes(frame).decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise WireError(f"the header is not valid UTF-8 JSON: {_first_line(err)}") from None
    if not isinstance(document, dict):
        raise WireError("the header must be a JSON object")
    return document


def _message_class(header: dict[str, Any], message_id: str | None) -> type[WireMessage]:
    type_name = header.get("type")
    if not isinstance(type_name, str):
        _fail("the header has no message type", message_id)
    cls = MESSAGE_TYPES.get(type_name)
    if cls is None:
        _fail(f"unknown message type {type_name[:64]!r}", message_id)
    version = header.get("v")
    if type(version) is not int:
        _fail(f"the {type_name} message has no schema version", message_id)
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
        _fail(
            f"the {type_name} message uses schema version {str(version)[:12]}; "
            f"this side reads {supported}",
            message_id,
        )
    return cls


def _fail(sentence: str, message_id: str | None) -> NoReturn:
    raise WireError(sentence, message_id=message_id)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed")


def _first_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]


def _describe(err: ValidationError) -> str:
    parts = []
    for problem in err.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in problem["loc"]) or "message"
        parts.append(f"{where}: {problem['msg']}")
    more = err.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
