"""ZeroMQ CURVE key pairs (Curve25519) and the certificate files ZeroMQ tools read.

Keys are made with `cryptography`'s X25519 (the same curve and raw key bytes as libzmq's
CURVE), so this package does not need pyzmq. Keys are handled as Z85 text (40 characters,
ASCII bytes), as `zmq.curve_keypair` returns them and `zmq.CURVE_*KEY` options accept them.

A key pair is stored as two files in ZeroMQ's certificate format (what
`zmq.auth.create_certificates` writes and `zmq.auth.load_certificate` reads)::

    <name>.key          public certificate: a `curve` section with `public-key = "..."`
    <name>.key_secret   secret certificate (mode 0600): `public-key` and `secret-key`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from certs.pem_files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_new_file
from edgeward.errors import CertificateError

CURVE_KEY_BYTES = 32
Z85_KEY_LENGTH = 40
_Z85_ALPHABET = (
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
_Z85_VALUES = {symbol: value for value, symbol in enumerate(_Z85_ALPHABET)}
_PRIVATE_BANNER = (
    "#   ****  Generated on {0} by Edgeward  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n"
)
_PUBLIC_BANNER = (
    "#   ****  Generated on {0} by Edgeward  ****\n"
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange.\n\n"
)


@dataclass(kw_only=True, slots=True, frozen=True)
class CurveKeyPair:
    """A CURVE key pair as Z85 text (ASCII bytes, 40 characters each)."""

    public_key: bytes
    secret_key: bytes = field(repr=False)


@dataclass(kw_only=True, slots=True, frozen=True)
class CurveKeyFiles:
    """Where a CURVE key pair's two certificate files live."""

    public_file: Path
    secret_file: Path


def z85_encode(data: bytes) -> bytes:
    """Encode `data` (a multiple of 4 bytes long) as Z85 text."""
    if len(data) % 4:
        raise CertificateError(f"Z85 encodes multiples of 4 bytes, not {len(data)} bytes.")
    encoded = bytearray()
    for start in range(0, len(data), 4):
        value = int.from_bytes(data[start : start + 4], "big")
        chunk = bytearray(5)
        for position in range(4, -1, -1):
            value, digit = divmod(value, 85)
            chunk[position] = _Z85_ALPHABET[digit]
        encoded += chunk
    return bytes(encoded)


def z85_decode(text: bytes | str) -> bytes:
    """Decode Z85 text, raising `CertificateError` if it is not valid Z85."""
    raw = _ascii(text)
    if len(raw) % 5:
        raise CertificateError(f"Z85 text is a multiple of 5 characters long, not {len(raw)}.")
    decoded = bytearray()
    for start in range(0, len(raw), 5):
        value = 0
        for symbol in raw[start : start + 5]:
            digit = _Z85_VALUES.get(symbol)
            if digit is None:
                raise CertificateError(f"{chr(symbol)!r} is not a Z85 character.")
            value = value * 85 + digit
        if value >= 1 << 32:
            raise CertificateError("The Z85 text encodes a value out of range.")
        decoded += value.to_bytes(4, "big")
    return bytes(decoded)


def check_curve_key(key: bytes | str, *, what: str = "CURVE key") -> bytes:
    """Return `key` as Z85 bytes if it encodes a 32-byte key, else raise `CertificateError`."""
    raw = _ascii(key)
    if len(raw) != Z85_KEY_LENGTH:
        raise CertificateError(
            f"The {what} must be {Z85_KEY_LENGTH} Z85 characters, not {len(raw)}."
        )
    try:
        z85_decode(raw)
    except CertificateError as err:
        raise CertificateError(f"The {what} is not valid Z85 text: {err}") from err
    return raw


def generate_curve_keypair() -> CurveKeyPair:
    """Make a new CURVE key pair."""
    secret = x25519.X25519PrivateKey.generate()
    return CurveKeyPair(
        public_key=z85_encode(secret.public_key().public_bytes_raw()),
        secret_key=z85_encode(secret.private_bytes_raw()),
    )


def curve_public_key(secret_key: bytes | str) -> bytes:
    """Return the Z85 public key that belongs to the Z85 `secret_key`."""
    raw = z85_decode(check_curve_key(secret_key, what="CURVE secret key"))
    secret = x25519.X25519PrivateKey.from_private_bytes(raw)
    return z85_encode(secret.public_key().public_bytes_raw())


def curve_certificate_text(pair: CurveKeyPair, *, secret: bool, name: str) -> bytes:
    """Return the public or secret ZeroMQ certificate file of `pair`, named `name`."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    banner = (_PRIVATE_BANNER if secret else _PUBLIC_BANNER).format(generated)
    lines = [banner + "metadata", f"    name = {name}", "curve"]
    lines.append(f'    public-key = "{pair.public_key.decode("ascii")}"')
    if secret:
        lines.append(f'    secret-key = "{pair.secret_key.decode("ascii")}"')
    return ("\n".join(lines) + "\n").encode("ascii")


def write_curve_certificates(directory: Path, name: str, pair: CurveKeyPair) -> CurveKeyFiles:
    """Write `<name>.key` (public) and `<name>.key_secret` (0600) for `pair` in `directory`."""
    files = CurveKeyFiles(
        public_file=directory / f"{name}.key", secret_file=directory / f"{name}.key_secret"
    )
    write_new_file(
        files.secret_file, curve_certificate_text(pair, secret=True, name=name), PRIVATE_FILE_MODE
    )
    write_new_file(
        files.public_file, curve_certificate_text(pair, secret=False, name=name), PUBLIC_FILE_MODE
    )
    return files


def parse_curve_certificate(data: bytes, *, source: str) -> tuple[bytes, bytes | None]:
    """Return the (public, secret or None) Z85 keys of a ZeroMQ certificate's text.

    A secret certificate's public key must belong to its secret key.
    """
    found: dict[bytes, bytes] = {}
    for line in data.splitlines():
        stripped = line.strip()
        for label in (b"public-key", b"secret-key"):
            if stripped.startswith(label) and b"=" in stripped:
                found[label] = stripped.split(b"=", 1)[1].strip(b" \t'\"")
    if b"public-key" not in found:
        raise CertificateError(f"{source} is not a ZeroMQ CURVE certificate: no public-key.")
    public = check_curve_key(found[b"public-key"], what=f"public key in {source}")
    secret = found.get(b"secret-key")
    if secret is None:
        return public, None
    secret = check_curve_key(secret, what=f"secret key in {source}")
    if curve_public_key(secret) != public:
        raise CertificateError(f"The public key in {source} does not belong to its secret key.")
    return public, secret


def read_curve_certificate(path: Path) -> tuple[bytes, bytes | None]:
    """Read the (public, secret or None) Z85 keys of the ZeroMQ certificate file at `path`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise CertificateError(f"The CURVE certificate {path} does not exist.") from err
    except OSError as err:
        raise CertificateError(
            f"The CURVE certificate {path} cannot be read: {err.strerror or err}."
        ) from err
    return parse_curve_certificate(data, source=str(path))


def _ascii(text: bytes | str) -> bytes:
    """Return `text` as ASCII bytes, raising `CertificateError` for other characters."""
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("ascii")
    except (UnicodeEncodeError, AttributeError) as err:
        raise CertificateError("A Z85 key holds ASCII characters only.") from err
