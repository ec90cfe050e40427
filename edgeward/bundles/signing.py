"""Sign a bundle's manifest with the control plane's Ed25519 key, and verify that signature.

The signature covers `canonical_manifest_bytes(manifest)`, which includes the weights'
SHA-256 and size, so it vouches for the weights too; `signature` is its base64 (standard
alphabet, 64 raw bytes). Registered versions are read-only, so a bundle is signed in its
folder before it is registered. Ed25519 cannot tell a manifest changed after signing from a
signature by another key; both fail with one sentence that names the two causes.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgeward.bundles.bundle import MANIFEST_FILE, read_manifest, verify_bundle
from edgeward.bundles.durable import replace_file
from edgeward.bundles.errors import BundleCorrupt, BundleError
from edgeward.bundles.manifest import (
    BundleManifest,
    build_manifest,
    canonical_manifest_bytes,
    manifest_file_bytes,
)

PublicKeySource = Path | bytes | Ed25519PublicKey
"""A public key as a PEM file, PEM bytes, the 32 raw bytes, or a loaded key."""

_SIGNATURE_BYTES = 64
_RAW_KEY_BYTES = 32


class BundleSignatureError(BundleError):
    """A bundle is unsigned, its signature does not verify, or its weights do not match."""


def sign_bundle(directory: Path, private_key_path: Path) -> BundleManifest:
    """Sign the bundle in `directory` and rewrite its manifest atomically; return the manifest.

    The weights are checked against the manifest first, so a damaged bundle is never signed.
    Signing again (with another key, say) replaces the signature.
    """
    directory = Path(directory)
    key = load_signing_key(private_key_path)
    manifest = verify_bundle(directory)
    signature = base64.b64encode(key.sign(canonical_manifest_bytes(manifest))).decode("ascii")
    document = manifest.model_dump()
    document["signature"] = signature
    signed = build_manifest(document, source=f"the signed manifest of {directory}")
    try:
        replace_file(directory / MANIFEST_FILE, manifest_file_bytes(signed))
    except OSError as err:
        raise BundleError(
            f"cannot sign the bundle {directory}: {err.strerror or err}; a registered version "
            "is read-only, so sign a bundle before registering it"
        ) from err
    return signed


def verify_bundle_signature(
    source: Path | BundleManifest, public_key: PublicKeySource
) -> BundleManifest:
    """Return the manifest if its signature verifies with `public_key`, else raise.

    Given a directory, the weights are also checked against the signed manifest's digest;
    given a manifest, only its signature is checked.
    """
    key = load_verification_key(public_key)
    if isinstance(source, BundleManifest):
        return _check_signature(source, key, where="the manifest")
    directory = Path(source)
    manifest = _check_signature(read_manifest(directory), key, where=f"the bundle {directory}")
    try:
        checked = verify_bundle(directory)
    except BundleCorrupt as err:
        raise BundleSignatureError(
            f"the weights of the bundle {directory} do not match its signed manifest: {err}"
        ) from err
    if checked != manifest:
        raise BundleSignatureError(
            f"the manifest of the bundle {directory} changed while it was being verified"
        )
    return manifest


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Load the Ed25519 private key (unencrypted PEM) at `path`."""
    data = _read_key_file(Path(path), "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise BundleSignatureError(f"{path} does not hold an unencrypted PEM private key") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleSignatureError(f"the key in {path} is not an Ed25519 signing key")
    return key


def load_verification_key(source: PublicKeySource) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a PEM file, PEM bytes or its 32 raw bytes."""
    if isinstance(source, Ed25519PublicKey):
        return source
    where = "the public key given"
    if isinstance(source, Path):
        where = str(source)
        source = _read_key_file(source, "signing public key")
    try:
        if len(source) == _RAW_KEY_BYTES:
            return Ed25519PublicKey.from_public_bytes(source)
        key = serialization.load_pem_public_key(source)
    except (ValueError, UnsupportedAlgorithm) as err:
        raise BundleSignatureError(f"{where} is not a PEM public key") from err
    if not isinstance(key, Ed25519PublicKey):
        raise BundleSignatureError(f"{where} is not an Ed25519 public key")
    return key


def _check_signature(
    manifest: BundleManifest, key: Ed25519PublicKey, *, where: str
) -> BundleManifest:
    """Return `manifest` if its signature verifies with `key`, else raise naming `where`."""
    if not manifest.signature:
        raise BundleSignatureError(
            f"{where} is not signed; only bundles signed by the control plane are accepted"
        )
    try:
        signature = base64.b64decode(manifest.signature, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BundleSignatureError(f"the signature of {where} is not base64") from err
    if len(signature) != _SIGNATURE_BYTES:
        raise BundleSignatureError(
            f"the signature of {where} is {len(signature)} bytes, not an Ed25519 signature"
        )
    try:
        key.verify(signature, canonical_manifest_bytes(manifest))
    except InvalidSignature as err:
        raise BundleSignatureError(
            f"the signature of {where} does not verify: its manifest was changed after "
            "signing, or it was signed by another key than the control plane's"
        ) from err
    return manifest


def _read_key_file(path: Path, what: str) -> bytes:
    """Return the bytes of a key file, raising `BundleSignatureError` if it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise BundleSignatureError(f"the {what} file {path} does not exist") from err
    except OSError as err:
        raise BundleSignatureError(
            f"the {what} file {path} cannot be read: {err.strerror or err}"
        ) from err
