"""Activate a delivered bundle: verify it, smoke-test it, switch to it atomically.

Checks, in order, each refusing with a sentence that says what was wrong:

1. the archive unpacks to exactly a manifest and weights (no path tricks);
2. the control plane's Ed25519 signature covers the manifest, and the weights match the
   manifest's digest (a tampered bundle, or one signed by another key, is refused);
3. the model was trained on this site's schema (same content hash);
4. the version is newer than the active one, unless a signed rollback order allows going back;
5. a smoke test: the model produces finite forecasts for recent windows within the latency
   budget.

`install_bundle` runs checks 1 to 4 and renames the unpacked, flushed folder into place under
its version; `switch_to_bundle` runs check 5 and only then switches `state.json`, so the old
model stays active until the new one passed everything, and stays installed as the last known
good. `activate_bundle` does both; the agent calls them apart to time delivery and activation.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from edge_agent.model_store.store import STAGING_PREFIX, ModelStore
from edgeward.bundles import Bundle, BundleError, read_bundle
from edgeward.bundles.archive import unpack_bundle
from edgeward.bundles.signing import PublicKeySource, verify_bundle_signature
from edgeward.errors import EdgewardError
from edgeward.models import FeatureStats, ModelSpec, model_from_arrays

log = logging.getLogger(__name__)
SMOKE_WINDOWS = 64
LATENCY_BUDGET_MS = 200.0


class ActivationRefused(EdgewardError):
    """A delivered model was not activated; the message says which check failed."""


@dataclass(kw_only=True, slots=True, frozen=True)
class ActivationResult:
    """What activating a version did."""

    version: int
    previous: int | None
    smoke: dict[str, float] = field(default_factory=dict)


def activate_bundle(
    store: ModelStore,
    archive: Path,
    *,
    version: int,
    signing_key: PublicKeySource,
    schema_hash: str,
    recent_inputs: np.ndarray | None = None,
    allow_downgrade: bool = False,
) -> ActivationResult:
    """Install and switch to the bundle in `archive`; raise `ActivationRefused` otherwise."""
    bundle = install_bundle(
        store,
        archive,
        version=version,
        signing_key=signing_key,
        schema_hash=schema_hash,
        allow_downgrade=allow_downgrade,
    )
    return switch_to_bundle(store, bundle, version=version, recent_inputs=recent_inputs)


def install_bundle(
    store: ModelStore,
    archive: Path,
    *,
    version: int,
    signing_key: PublicKeySource,
    schema_hash: str,
    allow_downgrade: bool = False,
) -> Bundle:
    """Checks 1 to 4: unpack, verify and install `archive` as `version` (not yet active).

    The installed folder is complete and flushed to disk before it gets its version's name.
    """
    active = store.state()["active"]
    if active is not None and version <= active and not allow_downgrade:
        raise ActivationRefused(
            f"version {version} is not newer than the active version {active}; going back "
            "needs a signed rollback order"
        )
    target = store.version_dir(version)
    if target.exists():
        return _verify(target, signing_key=signing_key, schema_hash=schema_hash)
    staging = store.root / f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    try:
        unpack_bundle(archive, staging)
        bundle = _verify(staging, signing_key=signing_key, schema_hash=schema_hash)
        staging.rename(target)
    except (BundleError, OSError) as err:
        raise ActivationRefused(f"version {version} refused: {err}") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return bundle


def switch_to_bundle(
    store: ModelStore,
    bundle: Bundle,
    *,
    version: int,
    recent_inputs: np.ndarray | None = None,
) -> ActivationResult:
    """Check 5, then the switch: smoke-test an installed bundle and make it active atomically."""
    smoke = smoke_test(bundle, recent_inputs)
    active = store.state()["active"]
    store.switch(version)
    log.info("model %s active (previous %s)", version, active)
    return ActivationResult(version=version, previous=active, smoke=smoke)


def _verify(directory: Path, *, signing_key: PublicKeySource, schema_hash: str) -> Bundle:
    # One read: `read_bundle` checks the weights against the manifest's digest, and the
    # signature covers the manifest, so the weights are hashed once, not once per check.
    try:
        bundle = read_bundle(directory)
        manifest = verify_bundle_signature(bundle.manifest, signing_key)
    except BundleError as err:
        raise ActivationRefused(str(err)) from err
    hashes = set(manifest.schema_hash.split(","))
    if schema_hash not in hashes:
        raise ActivationRefused(
            f"the model was trained on schema {manifest.schema_hash[:12]}, this site runs "
            f"{schema_hash[:12]}"
        )
    return bundle


def smoke_test(bundle: Bundle, recent_inputs: np.ndarray | None) -> dict[str, float]:
    """Run the model on recent windows (or a neutral one); refuse non-finite or slow output."""
    try:
        spec = ModelSpec.from_dict(bundle.manifest.model_spec)
        FeatureStats.from_dict(
            {k: float(v) for k, v in bundle.manifest.normalisation.items()},  # type: ignore[arg-type]
            spec.features,
        )
        model = model_from_arrays(spec, bundle.arrays)
    except EdgewardError as err:
        raise ActivationRefused(f"the model cannot be loaded: {err}") from err
    inputs = recent_inputs
    if inputs is None or len(inputs) == 0:
        inputs = np.zeros((1, spec.window, len(spec.features)), dtype=np.float32)
    batch = torch.from_numpy(np.asarray(inputs[-SMOKE_WINDOWS:], dtype=np.float32))
    model.eval()
    started = time.perf_counter()
    with torch.inference_mode():
        output = model(batch).numpy()
    per_window_ms = (time.perf_counter() - started) * 1000 / len(batch)
    if not np.isfinite(output).all():
        raise ActivationRefused("the smoke test produced non-finite forecasts")
    if per_window_ms > LATENCY_BUDGET_MS:
        raise ActivationRefused(
            f"the smoke test took {per_window_ms:.1f} ms a window, over the "
            f"{LATENCY_BUDGET_MS:.0f} ms budget"
        )
    return {
        "windows": float(len(batch)),
        "ms_per_window": round(per_window_ms, 3),
        "max_abs_forecast": float(np.abs(output).max()) if output.size else math.nan,
    }
