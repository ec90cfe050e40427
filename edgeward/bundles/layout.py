"""The registry's directory: the contract between bundle producers and the model registry.

Neither side imports the other; both follow this layout under one root::

    <root>/inbox/<id>/             a submitted bundle, complete once it has this name
    <root>/inbox/.tmp-<uuid>/      a submission being written (ignored by the registry)
    <root>/inbox/rejected/<id>/    a submission the registry refused, with <id>.reason.json
    <root>/models/<version>/       a registered bundle; never changes once there
    <root>/aliases/<alias>.json    {"alias", "version", "path", "updated_at"}, where `path`
                                   is relative to <root>; rewritten atomically on every move
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Unpack

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgeward.bundles.bundle import Bundle, ManifestFields, read_bundle, write_bundle
from edgeward.bundles.durable import replace_file
from edgeward.bundles.errors import BundleError, ManifestError
from edgeward.bundles.manifest import describe_validation_error
from edgeward.bundles.timestamps import UtcDatetime
from edgeward.bundles.weights import TensorLike

ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
"""Alias names: lower case, digits, `-` and `_`, starting with a letter (safe as file names)."""

CHAMPION = "champion"
_ALIAS_RE = re.compile(ALIAS_PATTERN)


@dataclass(frozen=True, slots=True)
class RegistryLayout:
    """Paths of a registry root, shared by whoever submits bundles and the registry."""

    root: Path

    @property
    def inbox(self) -> Path:
        """Return the folder producers submit bundles to."""
        return self.root / "inbox"

    @property
    def rejected(self) -> Path:
        """Return the folder refused submissions are moved to."""
        return self.inbox / "rejected"

    @property
    def models(self) -> Path:
        """Return the folder of registered, immutable bundles."""
        return self.root / "models"

    @property
    def aliases(self) -> Path:
        """Return the folder of alias pointer files."""
        return self.root / "aliases"

    def model_dir(self, version: int) -> Path:
        """Return the folder of a registered version."""
        return self.models / str(version)

    def model_relpath(self, version: int) -> str:
        """Return a version's folder relative to the root, as alias pointers store it."""
        return f"models/{version}"

    def alias_file(self, alias: str) -> Path:
        """Return the pointer file of an alias (the name is checked first)."""
        return self.aliases / f"{check_alias_name(alias)}.json"

    def create(self) -> None:
        """Create the folders that make up the layout, if missing."""
        for folder in (self.inbox, self.models, self.aliases):
            folder.mkdir(parents=True, exist_ok=True)


class AliasPointer(BaseModel):
    """The content of `aliases/<alias>.json`: which version an alias names, and since when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str = Field(pattern=ALIAS_PATTERN)
    version: int = Field(ge=1)
    path: str = Field(min_length=1)
    updated_at: UtcDatetime


def check_alias_name(alias: str) -> str:
    """Return `alias` if it is a valid alias name, else raise `BundleError`."""
    if not _ALIAS_RE.fullmatch(alias):
        raise BundleError(
            f"{alias!r} is not a valid alias: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter"
        )
    return alias


def submit_bundle(
    layout: RegistryLayout, *, arrays: Mapping[str, TensorLike], **fields: Unpack[ManifestFields]
) -> str:
    """Write a bundle into the registry inbox atomically; return its submission id."""
    submission = uuid.uuid4().hex
    write_bundle(layout.inbox / submission, arrays=arrays, **fields)
    return submission


def write_alias_pointer(
    layout: RegistryLayout, *, alias: str, version: int, updated_at: datetime
) -> AliasPointer:
    """Point `alias` at `version` by atomically rewriting its pointer file."""
    pointer = AliasPointer(
        alias=check_alias_name(alias),
        version=version,
        path=layout.model_relpath(version),
        updated_at=updated_at,
    )
    layout.aliases.mkdir(parents=True, exist_ok=True)
    data = json.dumps(pointer.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    replace_file(layout.alias_file(alias), data.encode("utf-8"))
    return pointer


def read_alias_pointer(layout: RegistryLayout, alias: str) -> AliasPointer | None:
    """Read an alias pointer file; None if the alias has never been set."""
    path = layout.alias_file(alias)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err}") from err
    try:
        pointer = AliasPointer.model_validate_json(data)
    except ValidationError as err:
        raise ManifestError(f"{path} is invalid: {describe_validation_error(err)}") from err
    if pointer.alias != alias:
        raise ManifestError(f"{path} names alias {pointer.alias!r}, not {alias!r}")
    return pointer


def read_alias(layout: RegistryLayout, alias: str) -> Bundle | None:
    """Read and verify the bundle an alias points to; None if the alias is not set."""
    pointer = read_alias_pointer(layout, alias)
    if pointer is None:
        return None
    root = layout.root.resolve()
    target = (root / pointer.path).resolve()
    if not target.is_relative_to(root):
        raise ManifestError(f"alias {alias!r} points outside the registry: {pointer.path}")
    return read_bundle(target)
