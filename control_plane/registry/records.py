"""What the registry returns: registered versions, alias moves and import outcomes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from control_plane.errors import RegistryError
from edgeward.bundles import BundleManifest, JsonObject, format_utc


@dataclass(kw_only=True, slots=True, frozen=True)
class VersionRecord:
    """One row of the registry index: a version and the summary of its manifest."""

    version: int
    name: str
    created_at: datetime
    registered_at: datetime
    schema_hash: str
    parent_version: int | None
    weights_sha256: str
    bundle_digest: str
    submission: str | None

    @classmethod
    def of_manifest(
        cls,
        manifest: BundleManifest,
        *,
        version: int,
        digest: str,
        submission: str | None,
        registered_at: datetime,
    ) -> VersionRecord:
        """Return the index row of a manifest registered as `version`."""
        return cls(
            version=version,
            name=manifest.name,
            created_at=manifest.created_at,
            registered_at=registered_at,
            schema_hash=manifest.schema_hash,
            parent_version=manifest.parent_version,
            weights_sha256=manifest.weights_sha256,
            bundle_digest=digest,
            submission=submission,
        )


@dataclass(kw_only=True, slots=True, frozen=True)
class ModelVersion:
    """A registered, immutable model version, with the aliases that point to it now."""

    version: int
    name: str
    created_at: datetime
    registered_at: datetime
    path: Path
    schema_hash: str
    parent_version: int | None
    weights_sha256: str
    bundle_digest: str
    submission: str | None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "version": self.version,
            "name": self.name,
            "created_at": format_utc(self.created_at),
            "registered_at": format_utc(self.registered_at),
            "path": str(self.path),
            "schema_hash": self.schema_hash,
            "parent_version": self.parent_version,
            "weights_sha256": self.weights_sha256,
            "bundle_digest": self.bundle_digest,
            "submission": self.submission,
            "aliases": list(self.aliases),
        }


@dataclass(kw_only=True, slots=True, frozen=True)
class AliasMove:
    """One audited move of an alias: who moved it, why, on what evidence, from where."""

    id: int
    alias: str
    version: int
    previous_version: int | None
    actor: str
    reason: str
    report: JsonObject | None
    moved_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "alias": self.alias,
            "version": self.version,
            "previous_version": self.previous_version,
            "actor": self.actor,
            "reason": self.reason,
            "report": self.report,
            "moved_at": format_utc(self.moved_at),
        }


@dataclass(kw_only=True, slots=True, frozen=True)
class Rejection:
    """A submission the registry refused, where it was moved and why."""

    submission: str
    reason: str
    path: Path


@dataclass(kw_only=True, slots=True, frozen=True)
class ImportReport:
    """What one pass over the inbox did."""

    registered: tuple[ModelVersion, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    already_registered: tuple[str, ...] = ()


def gate_report_object(report: Mapping[str, Any] | None) -> JsonObject | None:
    """Return the gate report as a plain JSON object, or raise `RegistryError`."""
    if report is None:
        return None
    try:
        parsed = json.loads(json.dumps(dict(report), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise RegistryError(f"the gate report must be plain JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise RegistryError("the gate report must be a JSON object")
    return parsed
