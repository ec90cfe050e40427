"""UTC timestamps as bundles store them: ISO-8601 with a trailing `Z`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer


def format_utc(moment: datetime) -> str:
    """Return `moment` as ISO-8601 in UTC with a `Z` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_from_epoch(seconds: float) -> datetime:
    """Return the aware UTC datetime for `seconds` since the epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def _require_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (write it in UTC, ending in Z)")
    return moment.astimezone(UTC)


UtcDatetime = Annotated[
    datetime,
    AfterValidator(_require_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""A timezone-aware datetime, normalised to UTC and serialised as `...Z`."""
