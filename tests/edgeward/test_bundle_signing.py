"""Signing bundles with the control plane's Ed25519 key, and every way verification refuses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certs import SigningKeys, create_authority
from certs.signing_keys import create_signing_keys
from edgeward.bundles import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    BundleCorrupt,
    BundleError,
    BundleManifest,
    BundleSignatureError,
    PublicKeySource,
    bundle_digest,
    canonical_manifest_bytes,
    read_manifest,
    sign_bundle,
    verify_bundle_signature,
    write_bundle,
)

CREATED = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    return create_signing_keys(_folder(tmp_path / "keys"))


@pytest.fixture
def other_keys(tmp_path: Path) -> SigningKeys:
    return create_signing_keys(_folder(tmp_path / "other-keys"))


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    write_bundle(
        directory,
        arrays={"layer.0.weight": np.arange(12, dtype=np.float32).reshape(3, 4)},
        name="kpi-forecaster",
        schema_hash="a" * 64,
        model_spec={"kind": "mlp", "hidden": [16, 8], "window": 12},
        normalisation={"mean": {"prb_util": 41.5}, "std": {"prb_util": 12.25}},
        metrics={"per_site": {"lyon-17": {"challenger": {"mae": 1.5}}}},
        created_at=CREATED,
    )
    return directory


@pytest.fixture
def signed(bundle: Path, keys: SigningKeys) -> BundleManifest:
    return sign_bundle(bundle, keys.private_key)


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _edit_manifest(bundle: Path, **changes: object) -> None:
    document = json.loads((bundle / MANIFEST_FILE).read_text())
    document.update(changes)
    (bundle / MANIFEST_FILE).write_text(json.dumps(document))


# --- Round trip -------------------------------------------------------------------------------


def test_sign_then_verify_returns_the_signed_manifest(
    bundle: Path, keys: SigningKeys, signed: BundleManifest
) -> None:
    verified = verify_bundle_signature(bundle, keys.public_key)

    assert verified == signed == read_manifest(bundle)
    assert signed.signature is not None
    assert len(base64.b64decode(signed.signature, validate=True)) == 64


def test_the_signature_is_ed25519_over_the_canonical_manifest(
    keys: SigningKeys, signed: BundleManifest
) -> None:
    public = serialization.load_pem_public_key(keys.public_key.read_bytes())
    assert isinstance(public, Ed25519PublicKey)

    public.verify(base64.b64decode(signed.signature or ""), canonical_manifest_bytes(signed))


def test_signing_keeps_the_bundle_digest_and_the_rest_of_the_manifest(bundle: Path) -> None:
    before = read_manifest(bundle)
    keys = create_signing_keys(_folder(bundle.parent / "k"))

    after = sign_bundle(bundle, keys.private_key)

    assert bundle_digest(after) == bundle_digest(before)
    assert after.model_dump(exclude={"signature"}) == before.model_dump(exclude={"signature"})


@pytest.mark.parametrize("form", ["path", "pem", "raw", "key"])
def test_the_public_key_can_be_given_in_several_forms(
    bundle: Path, keys: SigningKeys, signed: BundleManifest, form: str
) -> None:
    pem = keys.public_key.read_bytes()
    loaded = serialization.load_pem_public_key(pem)
    assert isinstance(loaded, Ed25519PublicKey)
    forms: dict[str, PublicKeySource] = {
        "path": keys.public_key,
        "pem": pem,
        "raw": loaded.public_bytes_raw(),
        "key": loaded,
    }

    assert verify_bundle_signature(bundle, forms[form]) == signed


def test_a_manifest_alone_can_be_verified(signed: BundleManifest, keys: SigningKeys) -> None:
    assert verify_bundle_signature(signed, keys.public_key) == signed


def test_signing_again_with_another_key_replaces_the_signature(
    bundle: Path, signed: BundleManifest, keys: SigningKeys, other_keys: SigningKeys
) -> None:
    resigned = sign_bundle(bundle, other_keys.private_key)

    assert verify_bundle_signature(bundle, other_keys.public_key) == resigned
    with pytest.raises(BundleSignatureError):
        verify_bundle_signature(bundle, keys.public_key)


# --- What verification refuses ----------------------------------------------------------------


def test_a_flipped_weight_byte_is_refused(
    bundle: Path, keys: SigningKeys, signed: BundleManifest
) -> None:
    weights = bytearray((bundle / WEIGHTS_FILE).read_bytes())
    weights[-1] ^= 0x01
    (bundle / WEIGHTS_FILE).write_bytes(bytes(weights))

    with pytest.raises(
        BundleSignatureError, match=r"weights of the bundle .* do not match its signed manifest"
    ) as refused:
        verify_bundle_signature(bundle, keys.public_key)

    assert isinstance(refused.value.__cause__, BundleCorrupt)


def test_an_edited_manifest_field_is_refused(
    bundle: Path, keys: SigningKeys, signed: BundleManifest
) -> None:
    _edit_manifest(bundle, metrics={"per_site": {"lyon-17": {"challenger": {"mae": 0.1}}}})

    with pytest.raises(BundleSignatureError, match="manifest was changed after signing"):
        verify_bundle_signature(bundle, keys.public_key)


def test_an_edited_digest_matching_swapped_weights_is_refused(
    bundle: Path, keys: SigningKeys, signed: BundleManifest, tmp_path: Path
) -> None:
    write_bundle(
        tmp_path / "evil",
        arrays={"layer.0.weight": np.zeros((3, 4), dtype=np.float32)},
        **{k: v for k, v in signed.model_dump().items() if k in {"name", "schema_hash"}},
        model_spec=signed.model_spec,
        normalisation=signed.normalisation,
        created_at=CREATED,
    )
    evil = read_manifest(tmp_path / "evil")
    (bundle / WEIGHTS_FILE).write_bytes((tmp_path / "evil" / WEIGHTS_FILE).read_bytes())
    _edit_manifest(bundle, weights_sha256=evil.weights_sha256, weights_size=evil.weights_size)

    with pytest.raises(BundleSignatureError, match="changed after signing"):
        verify_bundle_signature(bundle, keys.public_key)


def test_a_signature_by_another_key_is_refused(
    bundle: Path, other_keys: SigningKeys, signed: BundleManifest
) -> None:
    with pytest.raises(BundleSignatureError, match="signed by another key"):
        verify_bundle_signature(bundle, other_keys.public_key)


def test_an_unsigned_bundle_is_refused(bundle: Path, keys: SigningKeys) -> None:
    with pytest.raises(BundleSignatureError, match=r"bundle .* is not signed"):
        verify_bundle_signature(bundle, keys.public_key)


@pytest.mark.parametrize(
    ("signature", "message"),
    [("not base64!", "not base64"), (base64.b64encode(b"short").decode(), "5 bytes")],
)
def test_a_malformed_signature_is_refused(
    bundle: Path, keys: SigningKeys, signed: BundleManifest, signature: str, message: str
) -> None:
    _edit_manifest(bundle, signature=signature)

    with pytest.raises(BundleSignatureError, match=message):
        verify_bundle_signature(bundle, keys.public_key)


def test_signature_errors_are_bundle_errors(bundle: Path, keys: SigningKeys) -> None:
    with pytest.raises(BundleError):
        verify_bundle_signature(bundle, keys.public_key)


# --- What signing refuses ---------------------------------------------------------------------


def test_a_damaged_bundle_is_not_signed(bundle: Path, keys: SigningKeys) -> None:
    (bundle / WEIGHTS_FILE).write_bytes(b"garbage")
    before = (bundle / MANIFEST_FILE).read_bytes()

    with pytest.raises(BundleCorrupt):
        sign_bundle(bundle, keys.private_key)

    assert (bundle / MANIFEST_FILE).read_bytes() == before


def test_a_read_only_bundle_cannot_be_signed_and_says_to_sign_first(
    bundle: Path, keys: SigningKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path, data: bytes) -> None:
        # What a registered (chmod 0444/0555) version does, even when tests run as root.
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("edgeward.bundles.signing.replace_file", refuse)

    with pytest.raises(BundleError, match="sign a bundle before registering it"):
        sign_bundle(bundle, keys.private_key)

    assert read_manifest(bundle).signature is None


def test_a_key_that_is_not_ed25519_is_refused(bundle: Path, tmp_path: Path) -> None:
    authority = create_authority(tmp_path / "ca")

    with pytest.raises(BundleSignatureError, match="not an Ed25519 signing key"):
        sign_bundle(bundle, authority.directory / "ca.key")
    with pytest.raises(BundleSignatureError, match="does not exist"):
        sign_bundle(bundle, tmp_path / "missing.key")
