"""The control plane's model-signing key pair (Ed25519), as PEM files.

`signing.key` holds the private key (PKCS#8 PEM, mode 0600) and `signing.pub` the public key
(SubjectPublicKeyInfo PEM) that every agent receives in its enrollment bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from certs.pem_files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_new_file

SIGNING_KEY_FILE = "signing.key"
SIGNING_PUBLIC_KEY_FILE = "signing.pub"


@dataclass(kw_only=True, slots=True, frozen=True)
class SigningKeys:
    """Where the model-signing key pair lives."""

    private_key: Path
    public_key: Path


def create_signing_keys(directory: Path) -> SigningKeys:
    """Make `signing.key` (0600) and `signing.pub` in `directory`; never overwrite them."""
    key = ed25519.Ed25519PrivateKey.generate()
    keys = SigningKeys(
        private_key=directory / SIGNING_KEY_FILE, public_key=directory / SIGNING_PUBLIC_KEY_FILE
    )
    write_new_file(
        keys.private_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        PRIVATE_FILE_MODE,
    )
    write_new_file(
        keys.public_key,
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        PUBLIC_FILE_MODE,
    )
    return keys
