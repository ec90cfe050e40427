"""Enroll, rotate and revoke devices: their keys, their enrollment bundles, the device index.

A device's private keys are made in a temporary folder inside the PKI directory (0700),
packed into its enrollment bundle and deleted: the bundle is their only copy. The index
keeps the public half (CURVE and SuperNode public keys, the certificate and its
fingerprint). The bundle file is written before the index row, and removed again if the
index refuses the row, so an admitted key always has a bundle and a failed run admits none.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from certs.authority import DEFAULT_CERTIFICATE_DAYS, load_authority
from certs.curve_keys import curve_certificate_text, generate_curve_keypair
from certs.device_index import (
    DeviceRecord,
    find_record,
    format_timestamp,
    insert_record,
    latest_record,
    mark_revoked,
    read_records,
    write_transaction,
)
from certs.enrollment_bundle import ENROLLMENT_MANIFEST, file_digests, write_enrollment_bundle
from certs.enrollment_manifest import BUNDLE_MEMBERS, EnrollmentManifest
from certs.node_keys import create_node_keys
from certs.pem_files import read_certificate
from certs.pki import CONTROL_PLANE_NAME, SUPERLINK_NAME, Pki
from certs.subjects import check_name
from edgeward.errors import CertificateError

ROTATED_REASON = "rotated"
_MAX_REASON_LENGTH = 200


@dataclass(kw_only=True, slots=True, frozen=True)
class EnrollmentBundle:
    """A written enrollment bundle and the index record of the generation it enrolls."""

    path: Path
    device: DeviceRecord
    members: tuple[str, ...]


def issue_device(
    pki: Pki, site: str, *, out: Path, days: int = DEFAULT_CERTIFICATE_DAYS
) -> EnrollmentBundle:
    """Enroll `site` (never enrolled, or revoked): make its keys and write its bundle to `out`."""
    if site.lower() in (CONTROL_PLANE_NAME, SUPERLINK_NAME):
        # The servers' certificates carry these names, and the control plane files its own
        # (pipeline) decisions under its name.
        raise CertificateError(f"The site name {site!r} is reserved for the servers.")
    previous = find_record(pki.devices_db, check_name(site))
    if previous is not None and previous.active:
        raise CertificateError(
            f"{site} is already enrolled (generation {previous.generation}); rotate its keys "
            "with 'edgeward certs rotate-device' or revoke it first."
        )
    return _enroll(pki, site, previous=previous, rotate=False, out=Path(out), days=days)


def rotate_device(
    pki: Pki, site: str, *, out: Path, days: int = DEFAULT_CERTIFICATE_DAYS
) -> EnrollmentBundle:
    """Give the enrolled `site` new keys and a new bundle; its old CURVE key is refused at once."""
    previous = find_record(pki.devices_db, check_name(site))
    if previous is None:
        raise CertificateError(
            f"{site} is not enrolled; issue its first bundle with 'edgeward certs issue-device'."
        )
    if not previous.active:
        raise CertificateError(
            f"{site} was revoked on {format_timestamp(previous.revoked_at or previous.issued_at)}"
            "; enroll it again with 'edgeward certs issue-device'."
        )
    return _enroll(pki, site, previous=previous, rotate=True, out=Path(out), days=days)


def revoke_device(pki: Pki, site: str, *, reason: str) -> DeviceRecord:
    """Revoke the active enrollment of `site`; its CURVE key is refused from the commit on."""
    check_name(site)
    reason = " ".join(reason.split())
    if not reason or len(reason) > _MAX_REASON_LENGTH:
        raise CertificateError(f"Give a revocation reason of 1 to {_MAX_REASON_LENGTH} characters.")
    with write_transaction(pki.devices_db) as connection:
        latest = latest_record(connection, site)
        if latest is None:
            raise CertificateError(f"No device {site!r} is enrolled in {pki.directory}.")
        if latest.revoked_at is not None:
            raise CertificateError(
                f"{site} was already revoked on {format_timestamp(latest.revoked_at)}."
            )
        return mark_revoked(connection, latest, at=datetime.now(UTC), reason=reason)


def list_devices(pki: Pki, *, history: bool = False) -> list[DeviceRecord]:
    """Return each site's newest enrollment by site name, or with `history` every generation."""
    return read_records(pki.devices_db, history=history)


def _enroll(
    pki: Pki,
    site: str,
    *,
    previous: DeviceRecord | None,
    rotate: bool,
    out: Path,
    days: int,
) -> EnrollmentBundle:
    """Write the bundle of the next generation of `site`, then record it in the index."""
    generation = 1 if previous is None else previous.generation + 1
    bundle, certificate_pem = _write_bundle(pki, site, generation=generation, out=out, days=days)
    try:
        with write_transaction(pki.devices_db) as connection:
            if latest_record(connection, site) != previous:
                raise CertificateError(
                    f"The enrollment of {site} changed while its bundle was being made; "
                    "nothing was issued, try again."
                )
            if rotate and previous is not None:
                mark_revoked(
                    connection, previous, at=bundle.device.issued_at, reason=ROTATED_REASON
                )
            insert_record(connection, bundle.device, certificate_pem=certificate_pem)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return bundle


def _write_bundle(
    pki: Pki, site: str, *, generation: int, out: Path, days: int
) -> tuple[EnrollmentBundle, str]:
    """Make the device's keys and write its bundle to `out`; return it and the certificate."""
    authority = load_authority(pki.directory)
    try:
        with tempfile.TemporaryDirectory(prefix=".issue-", dir=pki.directory) as temporary:
            staging = Path(temporary)
            # Issue into the temporary folder: the device's key must not stay in the PKI.
            issued = dataclasses.replace(authority, directory=staging).issue_client(site, days=days)
            node = create_node_keys(staging, site)
            curve = generate_curve_keypair()
            files = {
                "ca.pem": pki.ca_cert.read_bytes(),
                "device.pem": issued.cert_path.read_bytes(),
                "device.key": issued.key_path.read_bytes(),
                "curve.key": curve_certificate_text(curve, secret=False, name=site),
                "curve.key_secret": curve_certificate_text(curve, secret=True, name=site),
                "node.key": node.private_key.read_bytes(),
                "node.pub": node.public_key.read_bytes(),
                "control-plane.curve.key": pki.curve.public_file.read_bytes(),
                "signing.pub": pki.signing.public_key.read_bytes(),
            }
            fingerprint = read_certificate(issued.cert_path).fingerprint(hashes.SHA256()).hex()
    except OSError as err:
        raise CertificateError(f"Cannot make the keys of {site}: {err.strerror or err}.") from err
    device = DeviceRecord(
        site=site,
        generation=generation,
        curve_public_key=curve.public_key.decode("ascii"),
        node_public_key=files["node.pub"].decode("ascii").strip(),
        certificate_fingerprint=fingerprint,
        issued_at=datetime.now(UTC),
    )
    manifest = EnrollmentManifest(
        site=site,
        generation=generation,
        issued_at=device.issued_at,
        control_plane_address=pki.control_plane_address,
        control_plane_curve_public_key=pki.curve_public_key,
        curve_public_key=curve.public_key,
        certificate_fingerprint=fingerprint,
        file_digests=file_digests(files),
    )
    write_enrollment_bundle(out, manifest, files)
    bundle = EnrollmentBundle(
        path=out,
        device=device,
        members=(ENROLLMENT_MANIFEST, *(member.name for member in BUNDLE_MEMBERS)),
    )
    return bundle, files["device.pem"].decode("ascii")
