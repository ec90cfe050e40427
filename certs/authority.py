"""Create, load and use the project's certificate authority (ECDSA P-256, SHA-256).

The authority lives in one directory as `ca.pem` and `ca.key`; every certificate it issues is
written next to them as `<name>.pem` and `<name>.key`. Key files have mode 0600 from the
moment they exist. Existing files are never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certs.pem_files import read_certificate, read_private_key, write_certificate_and_key
from certs.profiles import (
    AUTHORITY,
    CLIENT,
    SERVER,
    CertificateProfile,
    distinguished_name,
    sign_certificate,
)
from certs.subjects import check_name, client_alt_names, server_alt_names
from edgeward.errors import CertificateError

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
DEFAULT_AUTHORITY_DAYS = 3650
DEFAULT_CERTIFICATE_DAYS = 825
# Certificates start a little in the past so that a peer whose clock is slightly behind
# does not reject a certificate issued moments ago.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(kw_only=True, slots=True, frozen=True)
class IssuedCertificate:
    """The files of a certificate the authority issued, and the authority's certificate."""

    cert_path: Path
    key_path: Path
    ca_path: Path


@dataclass(kw_only=True, slots=True, frozen=True)
class CertificateAuthority:
    """A loaded certificate authority that issues server and client certificates.

    Create one with `create_authority` or `load_authority`, not directly.
    """

    directory: Path
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    @property
    def cert_path(self) -> Path:
        """Return the path of the authority's certificate, the trust anchor peers need."""
        return self.directory / CA_CERT_FILE

    def issue_server(
        self,
        name: str,
        *,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        days: int = DEFAULT_CERTIFICATE_DAYS,
    ) -> IssuedCertificate:
        """Issue a TLS server certificate for `name`, valid for the given DNS names and IPs.

        At least one DNS name or IP address is required: TLS clients check the server
        against these, not against the common name.
        """
        alt_names = server_alt_names(dns_names, ip_addresses)
        return self._issue(SERVER, name, alt_names=alt_names, days=days)

    def issue_client(self, name: str, *, days: int = DEFAULT_CERTIFICATE_DAYS) -> IssuedCertificate:
        """Issue a TLS client certificate whose common name is `name` (a site or client).

        The certificate also names the client as the URI `urn:edgeward:client:<name>`, since
        strict verifiers (cryptography's, for one) require a subject alternative name.
        """
        alt_names = client_alt_names(check_name(name))
        return self._issue(CLIENT, name, alt_names=alt_names, days=days)

    def _issue(
        self,
        profile: CertificateProfile,
        name: str,
        *,
        alt_names: Sequence[x509.GeneralName],
        days: int,
    ) -> IssuedCertificate:
        """Make a key pair, sign a `profile` certificate for it and write both files."""
        check_name(name)
        not_before, not_after = _validity(days)
        authority_expiry = self.certificate.not_valid_after_utc
        if authority_expiry <= datetime.now(UTC):
            raise CertificateError(
                f"The certificate authority in {self.directory} expired on "
                f"{authority_expiry:%Y-%m-%d}; create a new one."
            )
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = sign_certificate(
            profile,
            subject=distinguished_name(name),
            public_key=key.public_key(),
            issuer=self.certificate.subject,
            issuer_key=self.private_key,
            not_before=not_before,
            not_after=min(not_after, authority_expiry),
            alt_names=alt_names,
        )
        issued = IssuedCertificate(
            cert_path=self.directory / f"{name}.pem",
            key_path=self.directory / f"{name}.key",
            ca_path=self.cert_path,
        )
        write_certificate_and_key(
            cert_path=issued.cert_path, certificate=certificate, key_path=issued.key_path, key=key
        )
        return issued


def create_authority(
    directory: Path, *, common_name: str = "Edgeward CA", days: int = DEFAULT_AUTHORITY_DAYS
) -> CertificateAuthority:
    """Create a self-signed authority in `directory` (made 0700 if new) and return it.

    Refuses, with `CertificateError`, if the directory already holds an authority.
    """
    if not common_name or len(common_name) > 64:
        raise CertificateError("The authority's common name must be 1 to 64 characters long.")
    not_before, not_after = _validity(days)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise CertificateError(
            f"Cannot create the certificate directory {directory}: {err.strerror or err}."
        ) from err
    key = ec.generate_private_key(ec.SECP256R1())
    name = distinguished_name(common_name)
    certificate = sign_certificate(
        AUTHORITY,
        subject=name,
        public_key=key.public_key(),
        issuer=name,
        issuer_key=key,
        not_before=not_before,
        not_after=not_after,
    )
    write_certificate_and_key(
        cert_path=directory / CA_CERT_FILE,
        certificate=certificate,
        key_path=directory / CA_KEY_FILE,
        key=key,
    )
    return CertificateAuthority(directory=directory, certificate=certificate, private_key=key)


def load_authority(directory: Path) -> CertificateAuthority:
    """Load the authority stored in `directory`, checking that its key matches its certificate."""
    cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
    if not cert_path.exists() and not key_path.exists():
        raise CertificateError(
            f"No certificate authority in {directory}: expected {CA_CERT_FILE} and {CA_KEY_FILE}."
        )
    certificate = read_certificate(cert_path)
    key = read_private_key(key_path)
    if not _is_authority(certificate):
        raise CertificateError(f"The certificate {cert_path} is not a certificate authority.")
    if certificate.public_key() != key.public_key():
        raise CertificateError(f"The key {key_path} does not match the certificate {cert_path}.")
    return CertificateAuthority(directory=directory, certificate=certificate, private_key=key)


def _validity(days: int) -> tuple[datetime, datetime]:
    """Return the validity window of a certificate issued now for `days` days."""
    if days < 1:
        raise CertificateError(f"A certificate must be valid for at least one day, not {days}.")
    now = datetime.now(UTC)
    return now - _CLOCK_SKEW, now + timedelta(days=days)


def _is_authority(certificate: x509.Certificate) -> bool:
    """Return whether `certificate` says it is a certificate authority."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca
