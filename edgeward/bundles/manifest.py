"""The bundle manifest: what a model is, where it came from, and the digest of its weights.

The manifest is JSON. Fields the bundle format does not interpret (`model_spec`,
`normalisation`, `lineage`, `metrics`) are JSON objects owned by whoever writes the bundle; the
aggregator is expected to use, for example::

    lineage = {"run_id": ..., "rounds": ..., "sites": [...], "row_counts": {...},
               "time_ranges": {...}, "data_fingerprints": {...}, "strategy": ...,
               "hyperparameters": {...}}
    metrics = {"per_site": {"<site>": {"challenger": {"mae": ...}, "champion": {"mae": ...}}}}

`signature` is left empty until bundles are signed. A signature covers
`canonical_manifest_bytes(manifest)`: the manifest without its `signature` field, as JSON with
sorted keys, no whitespace and UTF-8, so that re-formatting the file never breaks it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from edgeward.bundles.errors import ManifestError
from edgeward.bundles.timestamps import UtcDatetime

FORMAT_VERSION = 1
"""The manifest format this code writes, and the newest it reads."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

JsonObject = dict[str, JsonValue]


class BundleManifest(BaseModel):
    """Describe one model bundle; immutable, validated on construction."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    format_version: int = Field(default=FORMAT_VERSION, ge=1, le=FORMAT_VERSION)
    name: str = Field(pattern=NAME_PATTERN)
    parent_version: int | None = Field(default=None, ge=1)
    created_at: UtcDatetime
    schema_hash: str = Field(min_length=1, max_length=256)
    model_spec: JsonObject
    normalisation: JsonObject
    lineage: JsonObject = Field(default_factory=dict)
    metrics: JsonObject = Field(default_factory=dict)
    weights_sha256: str = Field(pattern=SHA256_PATTERN)
    weights_size: int = Field(ge=0)
    signature: str | None = None

    @model_validator(mode="after")
    def _finite_json(self) -> BundleManifest:
        try:
            canonical_manifest_bytes(self)
        except ValueError as err:
            raise ValueError(f"manifest is not plain JSON (NaN or infinity?): {err}") from err
        return self


def canonical_manifest_bytes(manifest: BundleManifest) -> bytes:
    """Return the bytes a signature covers: the manifest without `signature`, canonical JSON."""
    document = manifest.model_dump(mode="json", exclude={"signature"})
    return _canonical_json(document)


def bundle_digest(manifest: BundleManifest) -> str:
    """Return the SHA-256 (hex) identifying a bundle: its canonical manifest, weights included."""
    return hashlib.sha256(canonical_manifest_bytes(manifest)).hexdigest()


def manifest_file_bytes(manifest: BundleManifest) -> bytes:
    """Return the manifest as written to `manifest.json`: indented, sorted, UTF-8."""
    document = manifest.model_dump(mode="json")
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def parse_manifest(data: bytes, *, source: str) -> BundleManifest:
    """Parse and validate manifest JSON; `source` names the file in error messages."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{source} is not valid JSON: {err}") from err
    return build_manifest(document, source=source)


def build_manifest(document: Any, *, source: str) -> BundleManifest:
    """Validate a manifest given as a mapping; raise `ManifestError` naming what is wrong."""
    if not isinstance(document, dict):
        raise ManifestError(f"{source} must hold a JSON object")
    version = document.get("format_version", FORMAT_VERSION)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise ManifestError(
            f"{source} uses bundle format {version}; this Edgeward reads up to {FORMAT_VERSION}"
        )
    try:
        return BundleManifest.model_validate(document)
    except ValidationError as err:
        raise ManifestError(f"{source} is invalid: {describe_validation_error(err)}") from err


def describe_validation_error(err: ValidationError) -> str:
    """Summarise a pydantic error as `field: problem` pairs on one line."""
    parts = []
    for problem in err.errors()[:3]:
        where = ".".join(str(part) for part in problem["loc"]) or "manifest"
        parts.append(f"{where}: {problem['msg']}")
    more = err.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _canonical_json(document: Any) -> bytes:
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")
