"""Small bundles for registry tests: distinct weights per seed, a corrupt one on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from edgeward.bundles import WEIGHTS_FILE, RegistryLayout, submit_bundle, write_bundle

CREATED = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def sample_arrays(seed: int) -> dict[str, Any]:
    """Return weights that differ from seed to seed."""
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(4, 3)).astype(np.float32), "b": np.full(3, seed, np.float32)}


def sample_fields(seed: int, **overrides: Any) -> dict[str, Any]:
    """Return manifest fields for a challenger trained in run `seed`."""
    values: dict[str, Any] = {
        "name": "kpi-forecaster",
        "schema_hash": "f" * 64,
        "model_spec": {"kind": "mlp", "hidden": [8]},
        "normalisation": {"mean": {"prb_util": 40.0}},
        "lineage": {"run_id": f"run-{seed}", "rounds": 3, "sites": ["lyon-17", "paris-3"]},
        "metrics": {
            "per_site": {
                "lyon-17": {"challenger": {"mae": 1.25}, "champion": {"mae": 1.5}},
                "paris-3": {"challenger": {"mae": 2.0}, "champion": {"mae": 2.5}},
            }
        },
        "created_at": CREATED + timedelta(minutes=seed),
    }
    values.update(overrides)
    return values


def submit(layout: RegistryLayout, seed: int) -> str:
    """Submit a good bundle to the inbox; return its submission id."""
    return submit_bundle(layout, arrays=sample_arrays(seed), **sample_fields(seed))


def submit_corrupt(layout: RegistryLayout, seed: int) -> str:
    """Submit a bundle, then flip a byte of its weights as a bad disk or an attacker would."""
    submission = submit(layout, seed)
    weights = layout.inbox / submission / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    return submission


def make_bundle(directory: Path, seed: int) -> Path:
    """Write a good bundle outside the registry and return its folder."""
    write_bundle(directory, arrays=sample_arrays(seed), **sample_fields(seed))
    return directory
