"""The model bundle format: round trips, digest checks, atomic writes, the registry layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from edgeward.bundles import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    BundleCorrupt,
    BundleError,
    BundleNotFound,
    ManifestError,
    RegistryLayout,
    TensorError,
    bundle_digest,
    canonical_manifest_bytes,
    parse_manifest,
    read_alias,
    read_bundle,
    read_manifest,
    submit_bundle,
    verify_bundle,
    write_alias_pointer,
    write_bundle,
)
from edgeward.bundles.durable import write_new_file
from edgeward.bundles.manifest import manifest_file_bytes

CREATED = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def fields(**overrides: Any) -> dict[str, Any]:
    """Return manifest fields for a small forecaster."""
    values: dict[str, Any] = {
        "name": "kpi-forecaster",
        "schema_hash": "a" * 64,
        "model_spec": {"kind": "mlp", "hidden": [16, 8], "window": 12},
        "normalisation": {"mean": {"prb_util": 41.5}, "std": {"prb_util": 12.25}},
        "lineage": {"run_id": "run-7", "rounds": 3, "sites": ["lyon-17", "paris-3"]},
        "metrics": {"per_site": {"lyon-17": {"challenger": {"mae": 1.5}}}},
        "created_at": CREATED,
    }
    values.update(overrides)
    return values


def arrays() -> dict[str, Any]:
    """Return one numpy array and one torch tensor."""
    return {
        "layer.0.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "layer.0.bias": torch.tensor([0.5, -0.5, 1.0]),
    }


def test_round_trip_keeps_tensors_and_manifest(tmp_path: Path) -> None:
    written = write_bundle(tmp_path / "b", arrays=arrays(), parent_version=4, **fields())
    bundle = read_bundle(tmp_path / "b")
    assert bundle.manifest == written
    assert bundle.manifest.parent_version == 4
    assert bundle.manifest.created_at == CREATED
    assert bundle.manifest.signature is None
    np.testing.assert_array_equal(bundle.arrays["layer.0.weight"], arrays()["layer.0.weight"])
    np.testing.assert_array_equal(bundle.arrays["layer.0.bias"], [0.5, -0.5, 1.0])
    assert bundle.arrays["layer.0.bias"].dtype == np.float32
    document = json.loads((tmp_path / "b" / MANIFEST_FILE).read_text())
    assert document["created_at"] == "2026-12-03T12:00:00Z"
    assert parse_manifest(manifest_file_bytes(written), source="x") == written


def test_created_at_defaults_to_now_in_utc(tmp_path: Path) -> None:
    values = fields()
    del values["created_at"]
    manifest = write_bundle(tmp_path / "b", arrays=arrays(), **values)
    assert manifest.created_at.tzinfo is not None
    assert manifest.created_at.utcoffset() == UTC.utcoffset(None)


def test_a_flipped_byte_in_the_weights_is_caught(tmp_path: Path) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    weights = tmp_path / "b" / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleCorrupt, match="does not match the manifest's digest"):
        read_bundle(tmp_path / "b")
    with pytest.raises(BundleCorrupt, match="digest"):
        verify_bundle(tmp_path / "b")


def test_truncated_weights_are_caught(tmp_path: Path) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    weights = tmp_path / "b" / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-7])
    with pytest.raises(BundleCorrupt, match="truncated"):
        read_bundle(tmp_path / "b")


def test_a_manifest_whose_digest_was_changed_is_caught(tmp_path: Path) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    path = tmp_path / "b" / MANIFEST_FILE
    document = json.loads(path.read_text())
    document["weights_sha256"] = "0" * 64
    path.write_text(json.dumps(document))
    with pytest.raises(BundleCorrupt, match="does not match the manifest's digest"):
        read_bundle(tmp_path / "b")


def test_bundle_digest_covers_every_field_but_the_signature(tmp_path: Path) -> None:
    manifest = write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    renamed = manifest.model_copy(update={"name": "other"})
    signed = manifest.model_copy(update={"signature": "c2lnbmF0dXJl"})
    assert bundle_digest(renamed) != bundle_digest(manifest)
    assert bundle_digest(signed) == bundle_digest(manifest)
    assert b"signature" not in canonical_manifest_bytes(signed)
    assert canonical_manifest_bytes(manifest) == canonical_manifest_bytes(
        parse_manifest(manifest_file_bytes(manifest), source="x")
    )


def test_a_failed_write_leaves_no_partial_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_on_manifest(path: Path, data: bytes) -> None:
        if path.name == MANIFEST_FILE:
            raise OSError(28, "No space left on device")
        write_new_file(path, data)

    monkeypatch.setattr("edgeward.bundles.bundle.write_new_file", fail_on_manifest)
    with pytest.raises(BundleError, match="No space left on device"):
        write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    assert list(tmp_path.iterdir()) == []


def test_a_bundle_is_never_overwritten(tmp_path: Path) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    before = (tmp_path / "b" / MANIFEST_FILE).read_bytes()
    with pytest.raises(BundleError, match="never overwritten"):
        write_bundle(tmp_path / "b", arrays=arrays(), **fields(name="other"))
    assert (tmp_path / "b" / MANIFEST_FILE).read_bytes() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "no spaces allowed"}, "name: String should match pattern"),
        ({"schema_hash": ""}, "schema_hash"),
        ({"created_at": "2026-12-03T12:00:00"}, "time zone"),
        ({"format_version": 2}, "uses bundle format 2; this Edgeward reads up to 1"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"model_spec": None}, "model_spec"),
    ],
)
def test_invalid_manifests_say_what_is_wrong(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    path = tmp_path / "b" / MANIFEST_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path / "b")


def test_a_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    (tmp_path / "b" / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ManifestError, match="is not valid JSON"):
        read_bundle(tmp_path / "b")


def test_missing_bundle_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(BundleNotFound, match="there is no bundle"):
        read_bundle(tmp_path / "nowhere")
    write_bundle(tmp_path / "b", arrays=arrays(), **fields())
    (tmp_path / "b" / WEIGHTS_FILE).unlink()
    with pytest.raises(BundleCorrupt, match=f"has no {WEIGHTS_FILE}"):
        read_bundle(tmp_path / "b")


def test_non_json_values_in_the_manifest_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not plain JSON"):
        write_bundle(tmp_path / "b", arrays=arrays(), **fields(metrics={"mae": float("nan")}))
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({}, "at least one tensor"),
        ({"w": [1.0, 2.0]}, "'w' is a list"),
        ({"w": torch.ones(2, dtype=torch.bfloat16)}, "cannot be converted to numpy"),
        ({"w": np.array([object()])}, "cannot be stored as safetensors"),
    ],
)
def test_tensors_that_cannot_be_stored_are_refused(
    tmp_path: Path, tensors: dict[str, Any], message: str
) -> None:
    with pytest.raises(TensorError, match=message):
        write_bundle(tmp_path / "b", arrays=tensors, **fields())


def test_submit_bundle_lands_complete_in_the_inbox(tmp_path: Path) -> None:
    layout = RegistryLayout(tmp_path)
    submission = submit_bundle(layout, arrays=arrays(), **fields())
    assert [p.name for p in layout.inbox.iterdir()] == [submission]
    assert read_bundle(layout.inbox / submission).manifest.name == "kpi-forecaster"


def test_read_alias_follows_the_pointer_file(tmp_path: Path) -> None:
    layout = RegistryLayout(tmp_path)
    assert read_alias(layout, "champion") is None
    written = write_bundle(layout.model_dir(3), arrays=arrays(), **fields())
    pointer = write_alias_pointer(layout, alias="champion", version=3, updated_at=CREATED)
    assert json.loads(layout.alias_file("champion").read_text()) == {
        "alias": "champion",
        "version": 3,
        "path": "models/3",
        "updated_at": "2026-12-03T12:00:00Z",
    }
    assert pointer.path == "models/3"
    bundle = read_alias(layout, "champion")
    assert bundle is not None
    assert bundle.manifest == written
    assert [p.name for p in layout.aliases.iterdir()] == ["champion.json"]


def test_a_pointer_outside_the_registry_is_refused(tmp_path: Path) -> None:
    layout = RegistryLayout(tmp_path / "registry")
    layout.aliases.mkdir(parents=True)
    layout.alias_file("champion").write_text(
        json.dumps(
            {
                "alias": "champion",
                "version": 1,
                "path": "../elsewhere",
                "updated_at": "2026-12-03T12:00:00Z",
            }
        )
    )
    with pytest.raises(ManifestError, match="points outside the registry"):
        read_alias(layout, "champion")


@pytest.mark.parametrize("alias", ["", "../champion", "Champion", "9lives", "a" * 65, "a/b"])
def test_unsafe_alias_names_are_refused(tmp_path: Path, alias: str) -> None:
    with pytest.raises(BundleError, match="is not a valid alias"):
        RegistryLayout(tmp_path).alias_file(alias)
