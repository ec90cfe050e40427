"""Devices: issuing bundles, the index, revocation, rotation and the admission lookup."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import PolicyBuilder, Store

from certs import (
    BUNDLE_MEMBERS,
    DeviceRecord,
    EnrollmentBundle,
    Pki,
    admitted_site,
    generate_curve_keypair,
    init_pki,
    issue_device,
    list_devices,
    read_certificate,
    read_enrollment_bundle,
    revoke_device,
    rotate_device,
)
from certs.device_index import insert_record, write_transaction
from edgeward.errors import CertificateError

ADDRESS = "tcp://127.0.0.1:7700"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return init_pki(tmp_path / "pki", control_plane_address=ADDRESS)


@pytest.fixture
def issued(pki: Pki, tmp_path: Path) -> EnrollmentBundle:
    return issue_device(pki, "site-001", out=tmp_path / "site-001.zip")


def _members(bundle: Path) -> set[str]:
    with zipfile.ZipFile(bundle) as archive:
        return set(archive.namelist())


# --- Issuing ----------------------------------------------------------------------------------


def test_issue_writes_one_private_bundle_with_the_documented_members(
    issued: EnrollmentBundle,
) -> None:
    assert stat.S_IMODE(issued.path.stat().st_mode) == 0o600
    assert _members(issued.path) == {"enrollment.json"} | {m.name for m in BUNDLE_MEMBERS}
    assert set(issued.members) == _members(issued.path)


def test_the_bundle_names_the_control_plane_and_the_device(
    pki: Pki, issued: EnrollmentBundle
) -> None:
    contents = read_enrollment_bundle(issued.path)

    manifest = contents.manifest
    assert (manifest.site, manifest.generation) == ("site-001", 1)
    assert manifest.control_plane_address == ADDRESS
    assert manifest.control_plane_curve_public_key == pki.curve_public_key
    assert manifest.curve_public_key.decode() == issued.device.curve_public_key
    assert contents.files["signing.pub"] == pki.signing.public_key.read_bytes()
    assert contents.files["ca.pem"] == pki.ca_cert.read_bytes()


def test_the_device_certificate_is_a_client_certificate_of_the_fleet_ca(
    pki: Pki, issued: EnrollmentBundle
) -> None:
    certificate = x509.load_pem_x509_certificate(
        read_enrollment_bundle(issued.path).files["device.pem"]
    )
    verifier = PolicyBuilder().store(Store([read_certificate(pki.ca_cert)])).build_client_verifier()

    verified = verifier.verify(certificate, [])

    assert verified.subjects == [x509.UniformResourceIdentifier("urn:edgeward:client:site-001")]
    assert certificate.fingerprint(hashes.SHA256()).hex() == issued.device.certificate_fingerprint


def test_the_device_private_keys_do_not_stay_in_the_pki(pki: Pki, issued: EnrollmentBundle) -> None:
    names = {path.name for path in pki.directory.iterdir()}

    assert not {name for name in names if name.startswith(("site-001", ".issue-"))}


def test_an_issued_device_is_admitted_and_listed(pki: Pki, issued: EnrollmentBundle) -> None:
    assert admitted_site(pki.directory, issued.device.curve_public_key) == "site-001"
    assert admitted_site(pki.directory, issued.device.curve_public_key.encode()) == "site-001"
    assert list_devices(pki) == [issued.device]


def test_issuing_an_enrolled_site_again_is_refused(
    pki: Pki, issued: EnrollmentBundle, tmp_path: Path
) -> None:
    with pytest.raises(CertificateError, match=r"already enrolled \(generation 1\); rotate"):
        issue_device(pki, "site-001", out=tmp_path / "again.zip")

    assert not (tmp_path / "again.zip").exists()


def test_an_existing_bundle_file_is_not_overwritten_and_nothing_is_enrolled(
    pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "taken.zip"
    out.write_bytes(b"keep me")

    with pytest.raises(CertificateError, match="already exists; it was not overwritten"):
        issue_device(pki, "site-002", out=out)

    assert out.read_bytes() == b"keep me"
    assert list_devices(pki) == []


def test_unsafe_site_names_are_refused(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="Invalid certificate name"):
        issue_device(pki, "../site", out=tmp_path / "x.zip")


# --- Revoking ---------------------------------------------------------------------------------


def test_a_revoked_device_is_no_longer_admitted(pki: Pki, issued: EnrollmentBundle) -> None:
    record = revoke_device(pki, "site-001", reason="device stolen")

    assert admitted_site(pki.directory, issued.device.curve_public_key) is None
    assert (record.active, record.revocation_reason) == (False, "device stolen")
    assert list_devices(pki) == [record]


def test_revoking_twice_or_an_unknown_site_is_refused(pki: Pki, issued: EnrollmentBundle) -> None:
    revoke_device(pki, "site-001", reason="retired")

    with pytest.raises(CertificateError, match="site-001 was already revoked on"):
        revoke_device(pki, "site-001", reason="retired")
    with pytest.raises(CertificateError, match="No device 'site-404' is enrolled"):
        revoke_device(pki, "site-404", reason="retired")


def test_a_revoked_site_can_be_enrolled_again_as_a_new_generation(
    pki: Pki, issued: EnrollmentBundle, tmp_path: Path
) -> None:
    revoke_device(pki, "site-001", reason="replaced hardware")

    again = issue_device(pki, "site-001", out=tmp_path / "again.zip")

    assert again.device.generation == 2
    assert admitted_site(pki.directory, again.device.curve_public_key) == "site-001"
    assert admitted_site(pki.directory, issued.device.curve_public_key) is None


# --- Rotating ---------------------------------------------------------------------------------


def test_rotation_refuses_the_old_key_and_admits_the_new_one_only(
    pki: Pki, issued: EnrollmentBundle, tmp_path: Path
) -> None:
    other = issue_device(pki, "site-002", out=tmp_path / "site-002.zip")

    rotated = rotate_device(pki, "site-001", out=tmp_path / "site-001-g2.zip")

    assert rotated.device.generation == 2
    assert rotated.device.curve_public_key != issued.device.curve_public_key
    assert admitted_site(pki.directory, issued.device.curve_public_key) is None
    assert admitted_site(pki.directory, rotated.device.curve_public_key) == "site-001"
    assert admitted_site(pki.directory, other.device.curve_public_key) == "site-002"
    assert [(r.site, r.generation, r.active) for r in list_devices(pki, history=True)] == [
        ("site-001", 1, False),
        ("site-001", 2, True),
        ("site-002", 1, True),
    ]
    assert list_devices(pki, history=True)[0].revocation_reason == "rotated"


def test_rotating_an_unknown_or_revoked_site_is_refused(
    pki: Pki, issued: EnrollmentBundle, tmp_path: Path
) -> None:
    with pytest.raises(CertificateError, match="site-404 is not enrolled"):
        rotate_device(pki, "site-404", out=tmp_path / "a.zip")
    revoke_device(pki, "site-001", reason="stolen")
    with pytest.raises(CertificateError, match=r"site-001 was revoked on .*issue-device"):
        rotate_device(pki, "site-001", out=tmp_path / "b.zip")

    assert not (tmp_path / "a.zip").exists()
    assert not (tmp_path / "b.zip").exists()


# --- The admission lookup ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "short", "x" * 40, "\u00e9" * 40])
def test_unknown_or_malformed_keys_are_not_admitted(
    pki: Pki, issued: EnrollmentBundle, key: str
) -> None:
    assert admitted_site(pki.directory, key) is None


def test_a_never_enrolled_valid_key_is_not_admitted(pki: Pki, issued: EnrollmentBundle) -> None:
    assert admitted_site(pki.directory, generate_curve_keypair().public_key) is None


def test_the_lookup_sees_committed_state_only_and_does_not_wait_for_writers(
    pki: Pki, issued: EnrollmentBundle
) -> None:
    pending = DeviceRecord(
        site="site-009",
        generation=1,
        curve_public_key=generate_curve_keypair().public_key.decode(),
        node_public_key="ecdsa-sha2-nistp384 AAAA",
        certificate_fingerprint="0" * 64,
        issued_at=issued.device.issued_at,
    )

    with write_transaction(pki.devices_db) as connection:
        insert_record(connection, pending, certificate_pem="")
        assert admitted_site(pki.directory, pending.curve_public_key) is None
        assert admitted_site(pki.directory, issued.device.curve_public_key) == "site-001"

    assert admitted_site(pki.directory, pending.curve_public_key) == "site-009"


def test_the_lookup_without_an_index_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="no device index"):
        admitted_site(tmp_path, generate_curve_keypair().public_key)
