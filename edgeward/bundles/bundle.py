"""Write, read and verify a bundle: a directory with `weights.safetensors` and `manifest.json`.

A bundle is written into a hidden temporary directory next to its destination and renamed
into place, so a reader sees a complete bundle or none. Reading checks the weights' size and
SHA-256 against the manifest before parsing them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack

from numpy.typing import NDArray

from edgeward.bundles.durable import sync_directory, write_new_file
from edgeward.bundles.errors import BundleCorrupt, BundleError, BundleNotFound
from edgeward.bundles.manifest import (
    FORMAT_VERSION,
    BundleManifest,
    build_manifest,
    manifest_file_bytes,
    parse_manifest,
)
from edgeward.bundles.weights import TensorLike, as_numpy_arrays, decode_weights, encode_weights

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "manifest.json"
STAGING_PREFIX = ".tmp-"
_CHUNK = 1 << 20


class ManifestFields(TypedDict, total=False):
    """The manifest fields a writer chooses; digest, size and format are filled in."""

    name: Required[str]
    schema_hash: Required[str]
    model_spec: Required[Mapping[str, Any]]
    normalisation: Required[Mapping[str, Any]]
    lineage: Mapping[str, Any]
    metrics: Mapping[str, Any]
    parent_version: int | None
    created_at: datetime


@dataclass(kw_only=True, slots=True, frozen=True)
class Bundle:
    """A verified bundle: its manifest, its tensors by name and where it lies."""

    manifest: BundleManifest
    arrays: Mapping[str, NDArray[Any]]
    path: Path


def write_bundle(
    directory: Path, *, arrays: Mapping[str, TensorLike], **fields: Unpack[ManifestFields]
) -> BundleManifest:
    """Write a new bundle at `directory` atomically and return its manifest; never overwrite."""
    directory = Path(directory)
    weights = encode_weights(as_numpy_arrays(arrays))
    manifest = _manifest_for(weights, fields, source=f"the manifest for {directory}")
    if directory.exists():
        raise BundleError(f"{directory} already exists; a bundle is never overwritten")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        write_new_file(staging / WEIGHTS_FILE, weights)
        write_new_file(staging / MANIFEST_FILE, manifest_file_bytes(manifest))
        sync_directory(staging)
        publish_directory(staging, directory)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError):
            raise BundleError(f"cannot write the bundle {directory}: {err}") from err
        raise
    logger.debug("wrote bundle %s (%s bytes of weights)", directory, len(weights))
    return manifest


def publish_directory(staging: Path, destination: Path) -> None:
    """Rename a finished `staging` directory to `destination`, failing if that exists."""
    if destination.exists():
        raise FileExistsError(f"{destination} already exists")
    os.rename(staging, destination)
    sync_directory(destination.parent)


def read_manifest(directory: Path) -> BundleManifest:
    """Read and validate a bundle's manifest, without touching its weights."""
    path = Path(directory) / MANIFEST_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        if not Path(directory).is_dir():
            raise BundleNotFound(f"there is no bundle at {directory}") from err
        raise BundleCorrupt(f"{directory} has no {MANIFEST_FILE}") from err
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err}") from err
    return parse_manifest(data, source=str(path))


def read_bundle(directory: Path) -> Bundle:
    """Read a bundle, checking its weights against the manifest's size and digest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    path = directory / WEIGHTS_FILE
    data = _read_weights(path)
    _check_weights(path, manifest, size=len(data), digest=hashlib.sha256(data).hexdigest())
    return Bundle(manifest=manifest, arrays=decode_weights(data, source=str(path)), path=directory)


def verify_bundle(directory: Path) -> BundleManifest:
    """Check a bundle's weights against its manifest without loading them; return the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    path = directory / WEIGHTS_FILE
    size, digest = weights_digest(path)
    _check_weights(path, manifest, size=size, digest=digest)
    return manifest


def weights_digest(path: Path) -> tuple[int, str]:
    """Return the size and SHA-256 (hex) of a weights file, read in chunks."""
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
    except FileNotFoundError as err:
        raise BundleCorrupt(f"{path.parent} has no {WEIGHTS_FILE}") from err
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err}") from err
    return size, hasher.hexdigest()


def _manifest_for(weights: bytes, fields: ManifestFields, *, source: str) -> BundleManifest:
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC),
        **fields,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "weights_size": len(weights),
    }
    return build_manifest(document, source=source)


def _read_weights(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise BundleCorrupt(f"{path.parent} has no {WEIGHTS_FILE}") from err
    except OSError as err:
        raise BundleError(f"cannot read {path}: {err}") from err


def _check_weights(path: Path, manifest: BundleManifest, *, size: int, digest: str) -> None:
    if size != manifest.weights_size:
        raise BundleCorrupt(
            f"{path} is {size} bytes but the manifest says {manifest.weights_size}: "
            "the weights are truncated or were replaced"
        )
    if digest != manifest.weights_sha256:
        raise BundleCorrupt(
            f"{path} does not match the manifest's digest "
            f"(sha256 {digest[:12]}..., expected {manifest.weights_sha256[:12]}...): "
            "the weights or the manifest were changed"
        )
