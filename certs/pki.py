"""The control plane's identity: one directory holding every key and certificate it needs.

`init_pki` builds the directory in a hidden sibling and renames it into place, so a failed
run leaves nothing behind. The layout (directory mode 0700, private files 0600)::

    ca.pem, ca.key                     the fleet's certificate authority
    control-plane.pem, .key            TLS server certificate of the control plane
    superlink.pem, superlink.key       TLS server certificate of the Flower SuperLink
    signing.key, signing.pub           Ed25519 model-signing key pair (PKCS#8 / SPKI PEM)
    curve.key, curve.key_secret        the control plane's ZeroMQ CURVE certificates
    pki.json                           the control plane's address and when this was made
    devices.db                         the device index (SQLite, WAL), see `device_index`
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from certs.authority import CA_CERT_FILE, CA_KEY_FILE, IssuedCertificate, create_authority
from certs.curve_keys import (
    CurveKeyFiles,
    generate_curve_keypair,
    read_curve_certificate,
    write_curve_certificates,
)
from certs.device_index import DEVICES_DB_FILE, create_device_index
from certs.pem_files import PUBLIC_FILE_MODE, write_new_file
from certs.signing_keys import (
    SIGNING_KEY_FILE,
    SIGNING_PUBLIC_KEY_FILE,
    SigningKeys,
    create_signing_keys,
)
from edgeward.errors import CertificateError

PKI_FILE = "pki.json"
PKI_FORMAT = "edgeward-pki"
PKI_FORMAT_VERSION = 1
CONTROL_PLANE_NAME = "control-plane"
SUPERLINK_NAME = "superlink"
CURVE_NAME = "curve"
_PKI_FILES = (
    CA_CERT_FILE,
    CA_KEY_FILE,
    f"{CONTROL_PLANE_NAME}.pem",
    f"{CONTROL_PLANE_NAME}.key",
    f"{SUPERLINK_NAME}.pem",
    f"{SUPERLINK_NAME}.key",
    SIGNING_KEY_FILE,
    SIGNING_PUBLIC_KEY_FILE,
    f"{CURVE_NAME}.key",
    f"{CURVE_NAME}.key_secret",
    DEVICES_DB_FILE,
)
_ADDRESS = re.compile(
    r"tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r":([0-9]{1,5})"
)


@dataclass(kw_only=True, slots=True, frozen=True)
class Pki:
    """A loaded control-plane PKI directory: paths, the address and the CURVE public key."""

    directory: Path
    control_plane_address: str
    created_at: datetime
    ca_cert: Path
    control_plane: IssuedCertificate
    superlink: IssuedCertificate
    signing: SigningKeys
    curve: CurveKeyFiles
    curve_public_key: bytes
    devices_db: Path


def check_control_plane_address(address: str) -> str:
    """Return `address` if it is `tcp://HOST:PORT` with a port from 1 to 65535, else raise."""
    match = _ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise CertificateError(
            f"Invalid control-plane address {address!r}: use tcp://HOST:PORT, "
            "for example tcp://10.0.0.5:7700."
        )
    return address


def init_pki(
    directory: Path,
    *,
    control_plane_address: str,
    hosts: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1",),
) -> Pki:
    """Create the control plane's PKI in `directory` (missing or empty) and return it."""
    address = check_control_plane_address(control_plane_address)
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CertificateError(
            f"{directory} already exists and is not an empty folder; a PKI is never overwritten."
        )
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pki-", dir=directory.parent))
    except OSError as err:
        raise CertificateError(f"Cannot create {directory}: {err.strerror or err}.") from err
    try:
        _populate(staging, address=address, hosts=hosts, ips=ips)
        staging.rename(directory)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise CertificateError(f"Cannot create {directory}: {err.strerror or err}.") from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_pki(directory)


def _populate(staging: Path, *, address: str, hosts: Sequence[str], ips: Sequence[str]) -> None:
    """Write every file of a new PKI into the (empty, 0700) folder `staging`."""
    authority = create_authority(staging)
    for name in (CONTROL_PLANE_NAME, SUPERLINK_NAME):
        authority.issue_server(name, dns_names=hosts, ip_addresses=ips)
    create_signing_keys(staging)
    write_curve_certificates(staging, CURVE_NAME, generate_curve_keypair())
    create_device_index(staging / DEVICES_DB_FILE)
    record = {
        "format": PKI_FORMAT,
        "format_version": PKI_FORMAT_VERSION,
        "control_plane_address": address,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "hosts": list(hosts),
        "ips": list(ips),
    }
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    write_new_file(staging / PKI_FILE, text.encode("utf-8"), PUBLIC_FILE_MODE)


def load_pki(directory: Path) -> Pki:
    """Load the PKI in `directory`, checking that every file is there and the keys match."""
    directory = Path(directory)
    address, created_at = _read_record(directory)
    missing = [name for name in _PKI_FILES if not (directory / name).is_file()]
    if missing:
        raise CertificateError(
            f"The PKI in {directory} is incomplete: {', '.join(missing)} missing."
        )
    curve = CurveKeyFiles(
        public_file=directory / f"{CURVE_NAME}.key",
        secret_file=directory / f"{CURVE_NAME}.key_secret",
    )
    return Pki(
        directory=directory,
        control_plane_address=address,
        created_at=created_at,
        ca_cert=directory / CA_CERT_FILE,
        control_plane=_issued(directory, CONTROL_PLANE_NAME),
        superlink=_issued(directory, SUPERLINK_NAME),
        signing=SigningKeys(
            private_key=directory / SIGNING_KEY_FILE,
            public_key=directory / SIGNING_PUBLIC_KEY_FILE,
        ),
        curve=curve,
        curve_public_key=_read_curve_public_key(curve),
        devices_db=directory / DEVICES_DB_FILE,
    )


def _read_curve_public_key(curve: CurveKeyFiles) -> bytes:
    """Return the control plane's CURVE public key, checking both certificates agree."""
    public_key, _ = read_curve_certificate(curve.public_file)
    secret_public, _ = read_curve_certificate(curve.secret_file)
    if secret_public != public_key:
        raise CertificateError(
            f"{curve.public_file} and {curve.secret_file} hold different CURVE keys."
        )
    return public_key


def _issued(directory: Path, name: str) -> IssuedCertificate:
    """Return the file paths of the server certificate `name` in `directory`."""
    return IssuedCertificate(
        cert_path=directory / f"{name}.pem",
        key_path=directory / f"{name}.key",
        ca_path=directory / CA_CERT_FILE,
    )


def _read_record(directory: Path) -> tuple[str, datetime]:
    """Read and check `pki.json`, returning the control plane's address and creation time."""
    path = directory / PKI_FILE
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError as err:
        raise CertificateError(
            f"No PKI in {directory}: {PKI_FILE} is missing; create one with 'edgeward certs init'."
        ) from err
    except (OSError, ValueError) as err:
        raise CertificateError(f"Cannot read {path}: {err}.") from err
    if not isinstance(document, dict) or document.get("format") != PKI_FORMAT:
        raise CertificateError(f"{path} is not an Edgeward PKI description.")
    if document.get("format_version") != PKI_FORMAT_VERSION:
        raise CertificateError(
            f"{path} has format version {document.get('format_version')!r}; "
            f"this Edgeward reads version {PKI_FORMAT_VERSION}."
        )
    address = document.get("control_plane_address")
    try:
        created_at = datetime.fromisoformat(str(document.get("created_at")))
        check_control_plane_address(str(address))
    except (ValueError, CertificateError) as err:
        raise CertificateError(f"{path} is invalid: {err}") from err
    return str(address), created_at
