"""Path parameters shared by the endpoints, bounded so a request cannot reach past the stores."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path

MAX_ID: Final = 2**31 - 1
"""The largest id or version the API accepts (SQLite integers go further; nobody needs it)."""

VersionPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A registered model version.")]
RolloutPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A rollout's id.")]
TokenPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An API token's id.")]
DecisionPath = Annotated[
    str, Path(min_length=1, max_length=200, description="A decision's id, as its site named it.")
]
SitePath = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="A site's name."),
]
UserPath = Annotated[str, Path(pattern=r"^[a-z0-9._@-]{1,64}$", description="An account's name.")]
