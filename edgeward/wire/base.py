"""What every wire message has: a type, a schema version, a unique id and the id it answers.

Messages are frozen pydantic models validated strictly (no coercion of "1" into 1, no NaN or
infinity), so a value that decodes is a value the sender could have built. Unknown header
fields are ignored: adding an optional field does not need a new version; `v` changes only
when a message changes incompatibly, and a receiver refuses versions it does not know.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, ClassVar, Final, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

WIRE_VERSION: Final = 1
"""The schema version every message this code sends carries, and the only one it reads."""

MAX_HEADER_BYTES: Final = 256 * 1024
"""The largest JSON header accepted, in bytes (decision payloads are the big ones)."""

MAX_CHUNK_BYTES: Final = 1024 * 1024
"""The largest binary payload (one bundle chunk) accepted, in bytes."""

ID_PATTERN: Final = r"^[0-9A-Za-z_.:-]{1,64}$"
NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Sites and rollout ids: the same safe names certificates use."""


def new_message_id() -> str:
    """Return a fresh message id (uuid4, hex)."""
    return uuid.uuid4().hex


def _plain_json(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError as err:
        raise ValueError("must be plain JSON (no NaN or infinity)") from err
    except RecursionError as err:
        raise ValueError("is nested too deeply") from err
    return value


JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_plain_json)]
"""A free-form JSON object (decision payloads), checked to be finite plain JSON."""

SiteName = Annotated[str, Field(pattern=NAME_PATTERN)]
RolloutId = Annotated[str, Field(pattern=NAME_PATTERN)]
Version = Annotated[int, Field(ge=1)]
"""A registry model version (versions start at 1)."""
Readings = dict[str, float]
"""Named numbers (health, quality, smoke-test results), finite by the model's config."""


class WireMessage(BaseModel):
    """Base of every message: `type`, `v`, `id` (set by the sender) and `reply_to`.

    Subclasses narrow `type` to a string literal with that literal as its default, and set
    `PAYLOAD_FIELD` when one `bytes` field travels as a second, binary frame.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, allow_inf_nan=False)

    PAYLOAD_FIELD: ClassVar[str | None] = None

    type: str
    v: int = Field(default=WIRE_VERSION, ge=1)
    id: str = Field(default_factory=new_message_id, pattern=ID_PATTERN)
    reply_to: str | None = Field(default=None, pattern=ID_PATTERN)

    @classmethod
    def type_name(cls) -> str:
        """Return the `type` literal of this message class."""
        default = cls.model_fields["type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} does not define a default `type` literal")
        return default

    def answering(self, request: WireMessage) -> Self:
        """Return this message addressed as the reply to `request` (unless already addressed)."""
        if self.reply_to is not None:
            return self
        return self.model_copy(update={"reply_to": request.id})
