"""Install a device's identity from its enrollment bundle, and load it when the agent starts.

`enroll_device` unpacks a bundle (checked by `certs.read_enrollment_bundle`: exact members,
no paths, digests and keys that match) into `<data-dir>/identity/`::

    identity/                  mode 0700
      enrollment.json          site, generation, control-plane address, CURVE public keys
      ca.pem, device.pem       CA and TLS client certificate                       0644
      device.key               TLS client private key                              0600
      curve.key, .key_secret   this device's CURVE certificates (public 0644, secret 0600)
      node.key, node.pub       SuperNode keys (private 0600, public 0644)
      control-plane.curve.key  the control plane's CURVE public certificate (pinned)
      signing.pub              the model-signing public key

The files are written into a hidden sibling folder and renamed into place. Replacing an
identity (`replace=True`, after a rotation) moves the old folder aside, renames the new one
in and only then deletes the old one; if the second rename fails, the old one is put back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certs import (
    BUNDLE_MEMBERS,
    ENROLLMENT_MANIFEST,
    EnrollmentManifest,
    parse_curve_certificate,
    read_enrollment_bundle,
)
from certs.pem_files import PUBLIC_FILE_MODE, write_new_file
from edgeward.errors import CertificateError

IDENTITY_DIR = "identity"
IDENTITY_DIR_MODE = 0o700


class EnrollmentError(CertificateError):
    """The device's identity cannot be installed or loaded; the message says why."""


@dataclass(kw_only=True, slots=True, frozen=True)
class InstalledIdentity:
    """What `enroll_device` installed, and which identity (if any) it replaced."""

    directory: Path
    site: str
    generation: int
    control_plane_address: str
    files: tuple[str, ...]
    replaced_site: str | None = None
    replaced_generation: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the installation as JSON-ready values."""
        return {
            "directory": str(self.directory),
            "site": self.site,
            "generation": self.generation,
            "control_plane_address": self.control_plane_address,
            "files": list(self.files),
            "replaced": None
            if self.replaced_site is None
            else {"site": self.replaced_site, "generation": self.replaced_generation},
        }


@dataclass(kw_only=True, slots=True, frozen=True)
class AgentIdentity:
    """A device's installed identity: who it is, whom it trusts, and where its keys are.

    CURVE keys are Z85 text (ASCII bytes), ready for `zmq.CURVE_PUBLICKEY` and friends.
    """

    directory: Path
    site: str
    generation: int
    control_plane_address: str
    curve_public_key: bytes
    curve_secret_key: bytes = field(repr=False)
    control_plane_curve_public_key: bytes
    signing_public_key: Path
    ca_cert: Path
    certificate: Path
    private_key: Path
    node_private_key: Path
    node_public_key: Path


def enroll_device(bundle: Path, data_dir: Path, *, replace: bool = False) -> InstalledIdentity:
    """Install the identity in `bundle` into `<data_dir>/identity/`; refuse to overwrite one.

    With `replace`, an installed identity is swapped for the bundle's, unless the bundle is
    for the same site and not newer (an old bundle would bring back revoked keys).
    """
    contents = read_enrollment_bundle(Path(bundle))
    manifest = contents.manifest
    data_dir = Path(data_dir)
    target = data_dir / IDENTITY_DIR
    try:
        previous = _installed_manifest(target)
    except CertificateError:
        if not replace:
            raise
        previous = None  # a damaged identity is what --replace is for
    if target.exists() and not replace:
        held = "" if previous is None else f" of {previous.site} (generation {previous.generation})"
        raise EnrollmentError(
            f"{target} already holds the identity{held}; pass --replace to install this one."
        )
    if previous and previous.site == manifest.site and manifest.generation <= previous.generation:
        raise EnrollmentError(
            f"The bundle holds generation {manifest.generation} of {manifest.site}, not newer "
            f"than the installed generation {previous.generation}; it was not installed."
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EnrollmentError(f"Cannot create {data_dir}: {err.strerror or err}.") from err
    staging = data_dir / f".{IDENTITY_DIR}-{uuid.uuid4().hex}"
    try:
        _write_identity(staging, manifest, contents.files)
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return InstalledIdentity(
        directory=target,
        site=manifest.site,
        generation=manifest.generation,
        control_plane_address=manifest.control_plane_address,
        files=(ENROLLMENT_MANIFEST, *(member.name for member in BUNDLE_MEMBERS)),
        replaced_site=None if previous is None else previous.site,
        replaced_generation=None if previous is None else previous.generation,
    )


def load_identity(data_dir: Path) -> AgentIdentity:
    """Load the identity installed in `<data_dir>/identity/`, checking files, modes and keys."""
    directory = Path(data_dir) / IDENTITY_DIR
    manifest = _installed_manifest(directory)
    if manifest is None:
        raise EnrollmentError(
            f"This device is not enrolled: no identity in {data_dir}. Install its enrollment "
            f"bundle with 'edgeward agent enroll BUNDLE --data-dir {data_dir}'."
        )
    files = _read_identity_files(directory, manifest)
    public, secret = parse_curve_certificate(files["curve.key_secret"], source="curve.key_secret")
    server, _ = parse_curve_certificate(
        files["control-plane.curve.key"], source="control-plane.curve.key"
    )
    if secret is None or public != manifest.curve_public_key:
        raise EnrollmentError(f"The CURVE keys in {directory} do not match {ENROLLMENT_MANIFEST}.")
    if server != manifest.control_plane_curve_public_key:
        raise EnrollmentError(
            f"The control plane's key in {directory} does not match {ENROLLMENT_MANIFEST}."
        )
    return AgentIdentity(
        directory=directory,
        site=manifest.site,
        generation=manifest.generation,
        control_plane_address=manifest.control_plane_address,
        curve_public_key=public,
        curve_secret_key=secret,
        control_plane_curve_public_key=server,
        signing_public_key=directory / "signing.pub",
        ca_cert=directory / "ca.pem",
        certificate=directory / "device.pem",
        private_key=directory / "device.key",
        node_private_key=directory / "node.key",
        node_public_key=directory / "node.pub",
    )


def _installed_manifest(directory: Path) -> EnrollmentManifest | None:
    """Return the manifest of the identity in `directory`; None if there is no identity."""
    path = directory / ENROLLMENT_MANIFEST
    if not directory.is_dir():
        return None
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise EnrollmentError(
            f"{directory} has no {ENROLLMENT_MANIFEST}; install the bundle again with --replace."
        ) from err
    except OSError as err:
        raise EnrollmentError(f"Cannot read {path}: {err.strerror or err}.") from err
    return EnrollmentManifest.from_json_bytes(data, source=str(path))


def _read_identity_files(directory: Path, manifest: EnrollmentManifest) -> dict[str, bytes]:
    """Return every identity file's bytes, refusing changed files and readable private keys."""
    files: dict[str, bytes] = {}
    for member in BUNDLE_MEMBERS:
        path = directory / member.name
        files[member.name] = _read_identity_file(path)
        if hashlib.sha256(files[member.name]).hexdigest() != manifest.file_digests[member.name]:
            raise EnrollmentError(
                f"{path} changed since enrollment; install the bundle again with --replace."
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if member.private and mode & 0o077:
            raise EnrollmentError(
                f"{path} can be read by other users (mode {mode:04o}); run 'chmod 600 {path}'."
            )
    return files


def _read_identity_file(path: Path) -> bytes:
    """Return the bytes of one identity file, saying which is missing if one is."""
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise EnrollmentError(
            f"The identity is incomplete: {path} is missing; install the bundle again with "
            "--replace."
        ) from err
    except OSError as err:
        raise EnrollmentError(f"Cannot read {path}: {err.strerror or err}.") from err


def _write_identity(
    staging: Path, manifest: EnrollmentManifest, files: Mapping[str, bytes]
) -> None:
    """Write the identity's files into the new folder `staging` with their final modes."""
    try:
        staging.mkdir(mode=IDENTITY_DIR_MODE)
        os.chmod(staging, IDENTITY_DIR_MODE)  # the umask may have taken bits away
    except OSError as err:
        raise EnrollmentError(f"Cannot create {staging}: {err.strerror or err}.") from err
    for member in BUNDLE_MEMBERS:
        write_new_file(staging / member.name, files[member.name], member.mode)
    write_new_file(staging / ENROLLMENT_MANIFEST, manifest.to_json_bytes(), PUBLIC_FILE_MODE)
    _sync_directory(staging)


def _swap_in(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`, moving an existing `target` aside and deleting it after."""
    aside = target.with_name(f".{IDENTITY_DIR}-old-{uuid.uuid4().hex}")
    try:
        if target.exists():
            target.rename(aside)
        try:
            staging.rename(target)
        except OSError:
            if aside.exists():
                aside.rename(target)
            raise
    except OSError as err:
        raise EnrollmentError(f"Cannot install the identity in {target}: {err}.") from err
    _sync_directory(target.parent)
    shutil.rmtree(aside, ignore_errors=True)


def _sync_directory(path: Path) -> None:
    """Flush a directory's entries to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
