"""The control plane's PKI: what `init_pki` makes, how `load_pki` reads it, and the CLI."""

from __future__ import annotations

import ipaddress
import json
import os
import stat
from pathlib import Path

import pytest
import zmq
import zmq.auth
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.verification import PolicyBuilder, Store
from zmq.utils import z85

from certs import (
    Pki,
    curve_public_key,
    generate_curve_keypair,
    init_pki,
    load_pki,
    read_certificate,
    z85_decode,
    z85_encode,
)
from edgeward.cli.main import cli
from edgeward.errors import CertificateError

ADDRESS = "tcp://127.0.0.1:7700"
PRIVATE_FILES = {
    "ca.key",
    "control-plane.key",
    "superlink.key",
    "signing.key",
    "curve.key_secret",
}
PUBLIC_FILES = {
    "ca.pem",
    "control-plane.pem",
    "superlink.pem",
    "signing.pub",
    "curve.key",
    "pki.json",
}


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return init_pki(tmp_path / "pki", control_plane_address=ADDRESS)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- Creating and loading -------------------------------------------------------------------


def test_init_then_load_gives_the_same_pki(pki: Pki) -> None:
    loaded = load_pki(pki.directory)

    assert loaded == pki
    assert loaded.control_plane_address == ADDRESS
    assert loaded.ca_cert == pki.directory / "ca.pem"
    assert loaded.devices_db == pki.directory / "devices.db"


def test_the_folder_holds_the_documented_files_with_their_modes(pki: Pki) -> None:
    names = {path.name for path in pki.directory.iterdir()}

    assert PRIVATE_FILES | PUBLIC_FILES | {"devices.db"} <= names
    assert _mode(pki.directory) == 0o700
    assert {name: _mode(pki.directory / name) for name in PRIVATE_FILES} == dict.fromkeys(
        PRIVATE_FILES, 0o600
    )
    assert {name: _mode(pki.directory / name) for name in PUBLIC_FILES} == dict.fromkeys(
        PUBLIC_FILES, 0o644
    )


def test_pki_json_records_the_control_plane_address(pki: Pki) -> None:
    document = json.loads((pki.directory / "pki.json").read_text())

    assert document["control_plane_address"] == ADDRESS
    assert document["format"] == "edgeward-pki"


def test_curve_certificates_load_with_pyzmq_and_form_a_key_pair(pki: Pki) -> None:
    public, secret = zmq.auth.load_certificate(pki.curve.secret_file)
    public_only, no_secret = zmq.auth.load_certificate(pki.curve.public_file)

    assert secret is not None
    assert public == public_only == pki.curve_public_key
    assert no_secret is None
    assert zmq.curve_public(secret) == public


def test_signing_keys_are_an_ed25519_pair(pki: Pki) -> None:
    private = serialization.load_pem_private_key(
        pki.signing.private_key.read_bytes(), password=None
    )
    public = serialization.load_pem_public_key(pki.signing.public_key.read_bytes())

    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(private.sign(b"model"), b"model")


@pytest.mark.parametrize("name", ["control-plane", "superlink"])
def test_server_certificates_verify_for_the_given_hosts(tmp_path: Path, name: str) -> None:
    pki = init_pki(
        tmp_path / "pki", control_plane_address=ADDRESS, hosts=["cp.example.net"], ips=["::1"]
    )
    store = Store([read_certificate(pki.ca_cert)])
    certificate = read_certificate(pki.directory / f"{name}.pem")

    for subject in (x509.DNSName("cp.example.net"), x509.IPAddress(ipaddress.ip_address("::1"))):
        PolicyBuilder().store(store).build_server_verifier(subject).verify(certificate, [])


def test_init_into_an_existing_empty_folder_works(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()

    pki = init_pki(tmp_path / "pki", control_plane_address=ADDRESS)

    assert load_pki(pki.directory) == pki


# --- What is refused --------------------------------------------------------------------------


def test_init_refuses_a_folder_that_is_not_empty(pki: Pki) -> None:
    before = sorted(path.name for path in pki.directory.iterdir())

    with pytest.raises(CertificateError, match="not an empty folder; a PKI is never overwritten"):
        init_pki(pki.directory, control_plane_address=ADDRESS)

    assert sorted(path.name for path in pki.directory.iterdir()) == before


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1:7700", "http://cp:7700", "tcp://cp", "tcp://cp:0", "tcp://cp:70000", "tcp://*:1"],
)
def test_init_refuses_a_bad_address_and_leaves_nothing(tmp_path: Path, address: str) -> None:
    with pytest.raises(CertificateError, match="Invalid control-plane address"):
        init_pki(tmp_path / "pki", control_plane_address=address)

    assert list(tmp_path.iterdir()) == []


def test_a_failed_init_leaves_no_partial_pki(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="Invalid IP address"):
        init_pki(tmp_path / "pki", control_plane_address=ADDRESS, ips=["300.1.1.1"])

    assert list(tmp_path.iterdir()) == []


def test_load_from_a_folder_without_a_pki_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match=r"No PKI in .*'edgeward certs init'"):
        load_pki(tmp_path)


def test_load_names_the_missing_files(pki: Pki) -> None:
    pki.signing.private_key.unlink()
    pki.curve.public_file.unlink()

    with pytest.raises(CertificateError, match=r"incomplete: signing\.key, curve\.key missing"):
        load_pki(pki.directory)


def test_load_refuses_mismatched_curve_certificates(pki: Pki, tmp_path: Path) -> None:
    other = init_pki(tmp_path / "other", control_plane_address=ADDRESS)
    os.replace(other.curve.public_file, pki.curve.public_file)

    with pytest.raises(CertificateError, match="hold different CURVE keys"):
        load_pki(pki.directory)


def test_load_refuses_a_damaged_pki_json(pki: Pki) -> None:
    (pki.directory / "pki.json").write_text('{"format": "edgeward-pki", "format_version": 9}')

    with pytest.raises(CertificateError, match="format version 9"):
        load_pki(pki.directory)


# --- CURVE keys without pyzmq ---------------------------------------------------------------


def test_z85_matches_pyzmq() -> None:
    data = os.urandom(64)

    assert z85_encode(data) == z85.encode(data)
    assert z85_decode(z85.encode(data)) == data


def test_generated_curve_keys_are_what_libzmq_derives() -> None:
    pair = generate_curve_keypair()

    assert zmq.curve_public(pair.secret_key) == pair.public_key == curve_public_key(pair.secret_key)


@pytest.mark.parametrize("text", [b"abcd", b"abc\x00e", b"#####"])
def test_z85_refuses_text_that_is_not_z85(text: bytes) -> None:
    with pytest.raises(CertificateError, match="Z85"):
        z85_decode(text)


# --- The CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], ["init"], ["issue-device"], ["rotate-device"], ["revoke"], ["list"]]
)
def test_every_certs_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, ["certs", *command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_cli_init_reports_the_address_and_key_as_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "certs", "init", "--dir", str(tmp_path / "pki"), "--address", "tcp://cp.example:7700",
            "--host", "cp.example", "--ip", "10.0.0.5", "--json",
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    pki = load_pki(tmp_path / "pki")
    assert report["control_plane_address"] == "tcp://cp.example:7700"
    assert report["curve_public_key"] == pki.curve_public_key.decode()


def test_cli_round_trip_init_issue_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    pki_dir, bundle = str(tmp_path / "pki"), tmp_path / "site-001.zip"

    init = runner.invoke(cli, ["certs", "init", "--dir", pki_dir, "--address", ADDRESS])
    issued = runner.invoke(
        cli, ["certs", "issue-device", "site-001", "--dir", pki_dir, "--out", str(bundle)]
    )
    listed = runner.invoke(cli, ["certs", "list", "--dir", pki_dir, "--json"])
    revoked = runner.invoke(
        cli, ["certs", "revoke", "site-001", "--dir", pki_dir, "--reason", "stolen"]
    )
    after = runner.invoke(cli, ["certs", "list", "--dir", pki_dir, "--json"])

    for result in (init, issued, listed, revoked, after):
        assert result.exit_code == 0, result.output
    assert "Enrolled site-001 (generation 1)" in issued.output
    assert bundle.is_file()
    [device] = json.loads(listed.output)
    assert (device["site"], device["active"], device["generation"]) == ("site-001", True, 1)
    assert "Revoked site-001 (generation 1): stolen." in revoked.output
    [device] = json.loads(after.output)
    assert (device["active"], device["revocation_reason"]) == (False, "stolen")


def test_cli_errors_are_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["certs", "list", "--dir", str(tmp_path)])

    assert result.exit_code != 0
    assert isinstance(result.exception, CertificateError)
    assert "No PKI in" in str(result.exception)
