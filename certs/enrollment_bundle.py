"""The enrollment bundle: one zip file with everything a device needs to join the fleet.

The zip holds plain file names only (no folders) and is written with mode 0600, since it
carries the device's private keys. Members, as `BUNDLE_MEMBERS` lists them::

    enrollment.json            the manifest below
    ca.pem                     the fleet's certificate authority
    device.pem, device.key     the device's TLS client certificate and key (PKCS#8 PEM)
    curve.key, .key_secret     the device's ZeroMQ CURVE certificates
    node.key, node.pub         the device's SuperNode authentication keys (OpenSSH)
    control-plane.curve.key    the control plane's CURVE public certificate, to pin
    signing.pub                the model-signing public key (Ed25519, PEM)

`enrollment.json` (see `enrollment_manifest`) names the site, the generation (1, then +1
per rotation), when it was issued, the control plane's address, both CURVE public keys, the
certificate's SHA-256 fingerprint and the SHA-256 of every other member. The bundle is not
signed: it is the root of the device's trust, so it must travel over a channel the operator
trusts.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certs.curve_keys import parse_curve_certificate
from certs.enrollment_manifest import BUNDLE_MEMBERS, EnrollmentBundleError, EnrollmentManifest
from certs.pem_files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE

ENROLLMENT_MANIFEST = "enrollment.json"
MAX_MEMBER_BYTES = 64 * 1024


_FILE_NAMES = frozenset(member.name for member in BUNDLE_MEMBERS)
_ALL_NAMES = _FILE_NAMES | {ENROLLMENT_MANIFEST}


@dataclass(kw_only=True, slots=True, frozen=True)
class EnrollmentContents:
    """A checked enrollment bundle: its manifest and every file's bytes by member name."""

    manifest: EnrollmentManifest
    files: Mapping[str, bytes]


def member_mode(name: str) -> int:
    """Return the file mode a member gets when installed: 0600 if private, else 0644."""
    modes = {member.name: member.mode for member in BUNDLE_MEMBERS}
    return modes.get(name, PUBLIC_FILE_MODE)


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """Return the SHA-256 (hex) of each file, by name."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def write_enrollment_bundle(
    out: Path, manifest: EnrollmentManifest, files: Mapping[str, bytes]
) -> None:
    """Write a new bundle file at `out` (mode 0600 from the start); never overwrite one."""
    if set(files) != _FILE_NAMES:
        raise EnrollmentBundleError("An enrollment bundle needs exactly the files it lists.")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError as err:
        raise EnrollmentBundleError(f"{out} already exists; it was not overwritten.") from err
    except OSError as err:
        raise EnrollmentBundleError(f"Cannot create {out}: {err.strerror or err}.") from err
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), PRIVATE_FILE_MODE)
            with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                moment = manifest.issued_at.timetuple()[:6]
                entries = {ENROLLMENT_MANIFEST: manifest.to_json_bytes(), **files}
                for name, data in entries.items():
                    info = zipfile.ZipInfo(name, date_time=moment)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (stat.S_IFREG | member_mode(name)) << 16
                    archive.writestr(info, data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as err:
        out.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise EnrollmentBundleError(f"Cannot write {out}: {err.strerror or err}.") from err
        raise


def read_enrollment_bundle(path: Path) -> EnrollmentContents:
    """Read and check the bundle at `path`: exact members, sizes, digests and matching keys.

    Refuses members with a path (traversal), links, folders, unexpected or repeated names.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            raw = {
                _check_member(path, info): _read_member(archive, info)
                for info in _infos(path, archive)
            }
    except FileNotFoundError as err:
        raise EnrollmentBundleError(f"There is no enrollment bundle at {path}.") from err
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise EnrollmentBundleError(
            f"{path} is not a readable enrollment bundle (a zip file): {err}."
        ) from err
    except OSError as err:
        raise EnrollmentBundleError(f"Cannot read {path}: {err.strerror or err}.") from err
    missing = sorted(_ALL_NAMES - set(raw))
    if missing:
        raise EnrollmentBundleError(f"The enrollment bundle {path} lacks {', '.join(missing)}.")
    manifest = EnrollmentManifest.from_json_bytes(
        raw.pop(ENROLLMENT_MANIFEST), source=f"{path}:{ENROLLMENT_MANIFEST}"
    )
    _check_digests(path, manifest, raw)
    _check_curve_keys(path, manifest, raw)
    return EnrollmentContents(manifest=manifest, files=raw)


def _infos(path: Path, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Return the archive's members, refusing a name that appears twice."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EnrollmentBundleError(f"The enrollment bundle {path} repeats {repeated[0]!r}.")
    return infos


def _check_member(path: Path, info: zipfile.ZipInfo) -> str:
    """Return the member's name if it is an expected plain file, else raise."""
    name = info.filename
    if "/" in name or "\\" in name or name in {"", ".", ".."} or ":" in name:
        raise EnrollmentBundleError(
            f"The enrollment bundle {path} has a member with a path, {name!r}: refused, "
            "bundles hold plain file names only."
        )
    if name not in _ALL_NAMES:
        raise EnrollmentBundleError(
            f"The enrollment bundle {path} has an unexpected member {name!r}."
        )
    kind = stat.S_IFMT(info.external_attr >> 16)
    if info.is_dir() or kind not in (0, stat.S_IFREG):
        raise EnrollmentBundleError(
            f"The member {name!r} of the enrollment bundle {path} is not a plain file."
        )
    if info.file_size > MAX_MEMBER_BYTES:
        raise EnrollmentBundleError(
            f"The member {name!r} of the enrollment bundle {path} is too large "
            f"({info.file_size} bytes)."
        )
    return name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Return a member's bytes, reading no more than the size limit allows."""
    with archive.open(info) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise EnrollmentBundleError(f"The member {info.filename!r} is larger than it claims.")
    return data


def _check_digests(path: Path, manifest: EnrollmentManifest, files: Mapping[str, bytes]) -> None:
    """Refuse a bundle whose files do not match the manifest's digests."""
    if set(manifest.file_digests) != _FILE_NAMES:
        raise EnrollmentBundleError(
            f"The manifest of {path} does not list exactly the bundle's files."
        )
    for name, digest in file_digests(files).items():
        if manifest.file_digests[name] != digest:
            raise EnrollmentBundleError(
                f"{name} in {path} does not match its digest in the manifest: "
                "the bundle is damaged or was altered."
            )


def _check_curve_keys(path: Path, manifest: EnrollmentManifest, files: Mapping[str, bytes]) -> None:
    """Refuse CURVE certificates that disagree with the manifest or carry a wrong secret."""
    own_public, _ = parse_curve_certificate(files["curve.key"], source=f"{path}:curve.key")
    pair_public, secret = parse_curve_certificate(
        files["curve.key_secret"], source=f"{path}:curve.key_secret"
    )
    server_public, server_secret = parse_curve_certificate(
        files["control-plane.curve.key"], source=f"{path}:control-plane.curve.key"
    )
    if secret is None or not own_public == pair_public == manifest.curve_public_key:
        raise EnrollmentBundleError(
            f"The device's CURVE certificates in {path} do not match each other or the manifest."
        )
    if server_secret is not None or server_public != manifest.control_plane_curve_public_key:
        raise EnrollmentBundleError(
            f"The control plane's CURVE certificate in {path} is not the public one the "
            "manifest names."
        )
