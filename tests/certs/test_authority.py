"""Tests for the certificate authority: files, verification and real TLS handshakes."""

from __future__ import annotations

import ipaddress
import queue
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from certs import (
    CertificateAuthority,
    IssuedCertificate,
    create_authority,
    load_authority,
    read_certificate,
)
from edgeward.errors import CertificateError

TIMEOUT_S = 10.0


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return create_authority(tmp_path / "pki")


@pytest.fixture
def server(authority: CertificateAuthority) -> IssuedCertificate:
    return authority.issue_server("broker", dns_names=["localhost"], ip_addresses=["127.0.0.1"])


@pytest.fixture
def client(authority: CertificateAuthority) -> IssuedCertificate:
    return authority.issue_client("site-001")


@pytest.fixture
def other_authority(tmp_path: Path) -> CertificateAuthority:
    return create_authority(tmp_path / "other", common_name="Other CA")


def _store(authority: CertificateAuthority) -> Store:
    return Store([read_certificate(authority.cert_path)])


def _common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


# --- Creating and loading -------------------------------------------------------------------


def test_create_then_load_gives_the_same_authority(tmp_path: Path) -> None:
    created = create_authority(tmp_path / "pki", common_name="Test CA")

    loaded = load_authority(tmp_path / "pki")

    assert loaded == created
    assert loaded.cert_path == tmp_path / "pki" / "ca.pem"
    assert _common_name(loaded.certificate) == "Test CA"
    assert loaded.private_key.public_key() == created.private_key.public_key()


def test_a_loaded_authority_issues_certificates_that_verify(tmp_path: Path) -> None:
    create_authority(tmp_path / "pki")
    loaded = load_authority(tmp_path / "pki")

    issued = loaded.issue_client("site-002")

    verifier = PolicyBuilder().store(_store(loaded)).build_client_verifier()
    verifier.verify(read_certificate(issued.cert_path), [])


def test_create_refuses_to_replace_an_existing_authority(
    authority: CertificateAuthority,
) -> None:
    before = authority.cert_path.read_bytes()

    with pytest.raises(CertificateError, match=r"ca\.pem already exists"):
        create_authority(authority.directory)

    assert authority.cert_path.read_bytes() == before


def test_load_from_an_empty_directory_says_no_authority_is_there(tmp_path: Path) -> None:
    with pytest.raises(
        CertificateError, match=r"No certificate authority in .*ca\.pem and ca\.key"
    ):
        load_authority(tmp_path)


def test_load_names_the_missing_key_file(authority: CertificateAuthority) -> None:
    (authority.directory / "ca.key").unlink()

    with pytest.raises(CertificateError, match=r"private key file .*ca\.key does not exist"):
        load_authority(authority.directory)


def test_load_refuses_a_key_file_that_is_not_a_key(authority: CertificateAuthority) -> None:
    (authority.directory / "ca.key").write_text("not a key\n")

    with pytest.raises(CertificateError, match="does not hold an unencrypted PEM private key"):
        load_authority(authority.directory)


def test_load_refuses_a_key_of_another_authority(
    authority: CertificateAuthority, other_authority: CertificateAuthority
) -> None:
    key_path = authority.directory / "ca.key"
    key_path.unlink()
    key_path.write_bytes((other_authority.directory / "ca.key").read_bytes())

    with pytest.raises(CertificateError, match="does not match the certificate"):
        load_authority(authority.directory)


def test_load_refuses_a_certificate_that_is_not_an_authority(
    authority: CertificateAuthority, client: IssuedCertificate
) -> None:
    authority.cert_path.write_bytes(client.cert_path.read_bytes())

    with pytest.raises(CertificateError, match="is not a certificate authority"):
        load_authority(authority.directory)


# --- What is issued ---------------------------------------------------------------------------


def test_issued_files_sit_next_to_the_authority(
    authority: CertificateAuthority, server: IssuedCertificate
) -> None:
    assert server == IssuedCertificate(
        cert_path=authority.directory / "broker.pem",
        key_path=authority.directory / "broker.key",
        ca_path=authority.directory / "ca.pem",
    )


@pytest.mark.parametrize("key_name", ["ca.key", "broker.key", "site-001.key"])
def test_private_key_files_are_readable_by_their_owner_only(
    authority: CertificateAuthority,
    server: IssuedCertificate,
    client: IssuedCertificate,
    key_name: str,
) -> None:
    mode = stat.S_IMODE((authority.directory / key_name).stat().st_mode)

    assert mode == 0o600


def test_server_certificate_names_its_dns_names_and_addresses(
    authority: CertificateAuthority,
) -> None:
    issued = authority.issue_server(
        "control-plane",
        dns_names=["localhost", "cp.example.net"],
        ip_addresses=["127.0.0.1", "::1"],
    )

    certificate = read_certificate(issued.cert_path)
    alt_names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt_names.get_values_for_type(x509.DNSName) == ["localhost", "cp.example.net"]
    assert alt_names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert _common_name(certificate) == "control-plane"


@pytest.mark.parametrize(
    "name",
    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    ids=["dns", "ip"],
)
def test_server_certificate_verifies_for_its_names(
    authority: CertificateAuthority,
    server: IssuedCertificate,
    name: x509.DNSName | x509.IPAddress,
) -> None:
    verifier = PolicyBuilder().store(_store(authority)).build_server_verifier(name)

    chain = verifier.verify(read_certificate(server.cert_path), [])

    assert chain[-1] == authority.certificate


def test_server_certificate_does_not_verify_for_another_name(
    authority: CertificateAuthority, server: IssuedCertificate
) -> None:
    verifier = (
        PolicyBuilder()
        .store(_store(authority))
        .build_server_verifier(x509.DNSName("elsewhere.example.net"))
    )

    with pytest.raises(VerificationError):
        verifier.verify(read_certificate(server.cert_path), [])


def test_client_certificate_verifies_as_a_client_only(
    authority: CertificateAuthority, client: IssuedCertificate
) -> None:
    certificate = read_certificate(client.cert_path)
    builder = PolicyBuilder().store(_store(authority))

    verified = builder.build_client_verifier().verify(certificate, [])

    assert _common_name(verified.chain[0]) == "site-001"
    assert verified.subjects == [x509.UniformResourceIdentifier("urn:edgeward:client:site-001")]
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(VerificationError):
        builder.build_server_verifier(x509.DNSName("localhost")).verify(certificate, [])


def test_certificates_of_another_authority_do_not_verify(
    authority: CertificateAuthority, other_authority: CertificateAuthority
) -> None:
    foreign = read_certificate(other_authority.issue_client("site-001").cert_path)

    with pytest.raises(VerificationError):
        PolicyBuilder().store(_store(authority)).build_client_verifier().verify(foreign, [])


def test_issued_certificates_are_leaves_with_identified_keys(
    authority: CertificateAuthority, server: IssuedCertificate
) -> None:
    extensions = read_certificate(server.cert_path).extensions

    assert extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    authority_key_id = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_key_id = authority.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    assert authority_key_id.key_identifier == ca_key_id.digest


def test_validity_follows_the_days_asked_for(authority: CertificateAuthority) -> None:
    issued = authority.issue_client("site-003", days=30)

    expiry = read_certificate(issued.cert_path).not_valid_after_utc

    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs(expiry - expected) < timedelta(minutes=1)


def test_a_certificate_never_outlives_its_authority(tmp_path: Path) -> None:
    short_lived = create_authority(tmp_path / "pki", days=10)

    issued = short_lived.issue_client("site-004", days=825)

    expiry = read_certificate(issued.cert_path).not_valid_after_utc
    assert expiry == short_lived.certificate.not_valid_after_utc


# --- What is refused --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "../escape", "a/b", ".hidden", "-flag", "with space", "trailing.", "x" * 65, "ca", "CA"],
)
def test_unsafe_names_are_refused(authority: CertificateAuthority, name: str) -> None:
    with pytest.raises(CertificateError, match="certificate name"):
        authority.issue_client(name)

    assert sorted(path.name for path in authority.directory.iterdir()) == ["ca.key", "ca.pem"]


@pytest.mark.parametrize(
    ("dns_names", "ip_addresses", "message"),
    [
        ([], [], "at least one DNS name or IP address"),
        (["bad name"], [], "Invalid DNS name"),
        (["-leading.example"], [], "Invalid DNS name"),
        ([], ["300.1.1.1"], "Invalid IP address"),
        ("localhost", [], "as a list, not one string"),
    ],
)
def test_bad_server_names_are_refused(
    authority: CertificateAuthority, dns_names: list[str], ip_addresses: list[str], message: str
) -> None:
    with pytest.raises(CertificateError, match=message):
        authority.issue_server("broker", dns_names=dns_names, ip_addresses=ip_addresses)


def test_issuing_a_name_twice_keeps_the_first_certificate(
    authority: CertificateAuthority, client: IssuedCertificate
) -> None:
    before = client.cert_path.read_bytes(), client.key_path.read_bytes()

    with pytest.raises(CertificateError, match=r"site-001\.pem already exists"):
        authority.issue_client("site-001")

    assert (client.cert_path.read_bytes(), client.key_path.read_bytes()) == before


@pytest.mark.parametrize("days", [0, -1])
def test_a_validity_under_one_day_is_refused(authority: CertificateAuthority, days: int) -> None:
    with pytest.raises(CertificateError, match="at least one day"):
        authority.issue_client("site-005", days=days)


# --- Real TLS handshakes ----------------------------------------------------------------------


class _OneShotTlsServer:
    """A TLS echo server on 127.0.0.1 that requires client certificates and serves once."""

    def __init__(self, server: IssuedCertificate) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(server.cert_path, server.key_path)
        self.context.load_verify_locations(cafile=server.ca_path)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT_S)
        self.port: int = self.listener.getsockname()[1]
        self.outcome: queue.Queue[str | Exception] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
            connection.settimeout(TIMEOUT_S)
            with self.context.wrap_socket(connection, server_side=True) as tls:
                peer = tls.getpeercert(binary_form=True)
                tls.sendall(tls.recv(4))
            self.outcome.put(_common_name(x509.load_der_x509_certificate(peer)) if peer else "")
        except OSError as err:
            self.outcome.put(err)

    def result(self) -> str | Exception:
        self.thread.join(TIMEOUT_S)
        return self.outcome.get(timeout=TIMEOUT_S)


@pytest.fixture
def tls_server(server: IssuedCertificate) -> Iterator[_OneShotTlsServer]:
    running = _OneShotTlsServer(server)
    running.thread.start()
    yield running
    running.listener.close()
    running.thread.join(TIMEOUT_S)


def _exchange(
    port: int, *, ca_path: Path, client: IssuedCertificate | None, host: str = "localhost"
) -> bytes:
    context = ssl.create_default_context(cafile=ca_path)
    if client is not None:
        context.load_cert_chain(client.cert_path, client.key_path)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"ping")
        return tls.recv(4)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_tls_handshake_with_a_client_certificate_succeeds(
    tls_server: _OneShotTlsServer, client: IssuedCertificate, host: str
) -> None:
    reply = _exchange(tls_server.port, ca_path=client.ca_path, client=client, host=host)

    assert reply == b"ping"
    assert tls_server.result() == "site-001"


def test_tls_server_refuses_a_client_certificate_of_another_authority(
    tls_server: _OneShotTlsServer,
    authority: CertificateAuthority,
    other_authority: CertificateAuthority,
) -> None:
    foreign = other_authority.issue_client("site-001")

    with pytest.raises(OSError):  # noqa: PT011 - TLS 1.3 reports the alert as SSLError or reset
        _exchange(tls_server.port, ca_path=authority.cert_path, client=foreign)

    refusal = tls_server.result()
    assert isinstance(refusal, ssl.SSLError)
    assert "certificate verify failed" in str(refusal)


def test_tls_server_refuses_a_client_without_a_certificate(
    tls_server: _OneShotTlsServer, authority: CertificateAuthority
) -> None:
    with pytest.raises(OSError):  # noqa: PT011 - TLS 1.3 reports the alert as SSLError or reset
        _exchange(tls_server.port, ca_path=authority.cert_path, client=None)

    assert isinstance(tls_server.result(), ssl.SSLError)


def test_tls_client_refuses_a_server_of_another_authority(
    tls_server: _OneShotTlsServer, other_authority: CertificateAuthority
) -> None:
    own_client = other_authority.issue_client("site-001")

    with pytest.raises(ssl.SSLCertVerificationError):
        _exchange(tls_server.port, ca_path=other_authority.cert_path, client=own_client)
