"""Real model bundles for tests: a real spec, real weights, signed by a real key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeward.bundles import sign_bundle, write_bundle
from edgeward.bundles.archive import pack_bundle
from edgeward.models import FeatureStats, ModelSpec, build_model, state_to_arrays
from edgeward.schema import load_schema


def neutral_stats(features: tuple[str, ...]) -> FeatureStats:
    """Statistics of mean 0 and standard deviation 1 for every feature."""
    count = np.full(len(features), 100.0)
    return FeatureStats(
        features=features, count=count, sum=np.zeros(len(features)), sum_sq=count.copy()
    )


def model_bundle(
    directory: Path,
    *,
    seed: int = 0,
    hidden: int = 64,
    schema_hash: str | None = None,
    sabotage: float = 0.0,
    stats: FeatureStats | None = None,
    metrics: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
    signing_key: Path | None = None,
) -> Path:
    """Write a bundle of a real MLP; `sabotage` adds a bias that ruins its forecasts."""
    features = load_schema().feature_names
    spec = ModelSpec(kind="mlp", features=features, hidden=hidden)
    arrays = state_to_arrays(build_model(spec, seed=seed))
    if sabotage:
        last_bias = [name for name in arrays if name.endswith("bias")][-1]
        arrays[last_bias] = arrays[last_bias] + np.float32(sabotage)
    write_bundle(
        directory,
        arrays=arrays,
        name=f"test-model-{seed}",
        schema_hash=schema_hash or load_schema().content_hash,
        model_spec=spec.to_dict(),
        normalisation=(stats or neutral_stats(features)).to_dict(),
        lineage=lineage or {"run_id": seed},
        metrics=metrics or {},
    )
    if signing_key is not None:
        sign_bundle(directory, signing_key)
    return directory


def archive_of(directory: Path, target: Path) -> Path:
    """Pack a bundle as the control plane delivers it."""
    target.write_bytes(pack_bundle(directory))
    return target
