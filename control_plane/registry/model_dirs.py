"""The registry's side of `models/`: stage a copy, publish it as a version, freeze it."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import uuid
from pathlib import Path

from control_plane.errors import RegistryError
from edgeward.bundles import (
    MANIFEST_FILE,
    STAGING_PREFIX,
    WEIGHTS_FILE,
    BundleError,
    BundleManifest,
    RegistryLayout,
    publish_directory,
    verify_bundle,
)
from edgeward.bundles.durable import sync_directory

logger = logging.getLogger(__name__)

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def stage_copy(source: Path, layout: RegistryLayout, expected: BundleManifest) -> Path:
    """Copy a verified bundle into a hidden folder under `models/` and check the copy."""
    layout.models.mkdir(parents=True, exist_ok=True)
    staging = layout.models / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        staging.mkdir()
        for name in (WEIGHTS_FILE, MANIFEST_FILE):
            _copy_durably(source / name, staging / name)
        sync_directory(staging)
        copied = verify_bundle(staging)
    except (OSError, BundleError) as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise RegistryError(f"cannot copy the bundle {source} into the registry: {err}") from err
    if copied != expected:
        shutil.rmtree(staging, ignore_errors=True)
        raise RegistryError(f"the bundle {source} changed while it was being registered")
    return staging


def publish_version(staging: Path, layout: RegistryLayout, version: int) -> Path:
    """Make a staged copy read-only and rename it to `models/<version>`."""
    for name in (WEIGHTS_FILE, MANIFEST_FILE):
        os.chmod(staging / name, _READ_ONLY)
    destination = layout.model_dir(version)
    try:
        publish_directory(staging, destination)
    except OSError as err:
        raise RegistryError(f"cannot publish version {version} at {destination}: {err}") from err
    return destination


def highest_version_on_disk(layout: RegistryLayout) -> int:
    """Return the highest numbered folder under `models/` (0 if none), indexed or not."""
    try:
        numbers = [int(entry.name) for entry in layout.models.iterdir() if entry.name.isdigit()]
    except FileNotFoundError:
        return 0
    return max(numbers, default=0)


def purge_staging(layout: RegistryLayout) -> None:
    """Remove staged copies left by an interrupted registration (call under the write lock)."""
    if layout.models.is_dir():
        for leftover in layout.models.glob(f"{STAGING_PREFIX}*"):
            logger.info("removing %s, left by an interrupted registration", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _copy_durably(source: Path, destination: Path) -> None:
    with source.open("rb") as reader, destination.open("xb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())
