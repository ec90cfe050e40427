"""Read and write PEM certificates and private keys; key files are born with mode 0600."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edgeward.errors import CertificateError

PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    """Write `certificate` to a new PEM file at `path`, readable by everyone."""
    write_new_file(path, certificate.public_bytes(serialization.Encoding.PEM), PUBLIC_FILE_MODE)


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write `key` unencrypted (PKCS#8 PEM) to a new file at `path` that only its owner reads.

    The file is created with its final mode, so the key is never readable by others, even
    briefly. Servers such as mosquitto read the key without a passphrase.
    """
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_new_file(path, data, PRIVATE_FILE_MODE)


def write_certificate_and_key(
    *,
    cert_path: Path,
    certificate: x509.Certificate,
    key_path: Path,
    key: ec.EllipticCurvePrivateKey,
) -> None:
    """Write a certificate and its key to two new files, leaving neither behind on failure."""
    for path in (cert_path, key_path):
        if path.exists():
            raise CertificateError(f"The file {path} already exists; it was not overwritten.")
    write_private_key(key_path, key)
    try:
        write_certificate(cert_path, certificate)
    except CertificateError:
        with contextlib.suppress(OSError):
            key_path.unlink()
        raise


def read_certificate(path: Path) -> x509.Certificate:
    """Load the PEM certificate at `path`, raising `CertificateError` if it cannot be used."""
    data = _read_file(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise CertificateError(f"The file {path} does not hold a PEM certificate.") from err


def read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Load the unencrypted PEM elliptic-curve key at `path`, else raise `CertificateError`."""
    data = _read_file(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise CertificateError(
            f"The file {path} does not hold an unencrypted PEM private key."
        ) from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"The private key in {path} is not an elliptic-curve key.")
    return key


def _read_file(path: Path, what: str) -> bytes:
    """Return the bytes of `path`, raising `CertificateError` naming `what` it should hold."""
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise CertificateError(f"The {what} file {path} does not exist.") from err
    except OSError as err:
        raise CertificateError(
            f"The {what} file {path} cannot be read: {err.strerror or err}."
        ) from err


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` with `mode` and write `data`, refusing to replace an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as err:
        raise CertificateError(f"The file {path} already exists; it was not overwritten.") from err
    except OSError as err:
        raise CertificateError(f"Cannot create {path}: {err.strerror or err}.") from err
    try:
        with os.fdopen(fd, "wb") as stream:
            # The umask may have taken bits away; set exactly the mode asked for.
            os.fchmod(stream.fileno(), mode)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as err:
        with contextlib.suppress(OSError):
            path.unlink()
        raise CertificateError(f"Cannot write {path}: {err.strerror or err}.") from err
