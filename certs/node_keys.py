"""SuperNode authentication keys: an EC key pair per site, in the OpenSSH format Flower reads.

The SuperLink admits only SuperNodes whose public key was registered (`--enable-supernode-auth`
and `flwr supernode register`); each site signs its requests with its private key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs.pem_files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_new_file
from certs.subjects import check_name


@dataclass(kw_only=True, slots=True, frozen=True)
class NodeKeys:
    """Where a site's SuperNode key pair lives."""

    private_key: Path
    public_key: Path


def create_node_keys(directory: Path, site: str) -> NodeKeys:
    """Make `<site>.node.key` (0600) and `<site>.node.pub` (EC P-384, OpenSSH format)."""
    name = check_name(site)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    keys = NodeKeys(
        private_key=directory / f"{name}.node.key", public_key=directory / f"{name}.node.pub"
    )
    write_new_file(
        keys.private_key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
        PRIVATE_FILE_MODE,
    )
    write_new_file(
        keys.public_key,
        key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        PUBLIC_FILE_MODE,
    )
    return keys
