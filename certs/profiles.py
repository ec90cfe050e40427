"""The kinds of certificate the project signs and the extensions each kind carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Return the key usage of an authority (signs certificates and CRLs) or a TLS peer."""
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(kw_only=True, slots=True, frozen=True)
class CertificateProfile:
    """What one kind of certificate may be used for.

    `extended_key_usage` empty means the extension is left out (an authority is not limited).
    """

    kind: str
    is_authority: bool
    key_usage: x509.KeyUsage
    extended_key_usage: tuple[x509.ObjectIdentifier, ...]


AUTHORITY = CertificateProfile(
    kind="certificate authority",
    is_authority=True,
    key_usage=_key_usage(signs_certificates=True),
    extended_key_usage=(),
)
SERVER = CertificateProfile(
    kind="server",
    is_authority=False,
    key_usage=_key_usage(signs_certificates=False),
    extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),
)
CLIENT = CertificateProfile(
    kind="client",
    is_authority=False,
    key_usage=_key_usage(signs_certificates=False),
    extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),
)


def distinguished_name(common_name: str) -> x509.Name:
    """Return a distinguished name holding only `common_name`."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def sign_certificate(
    profile: CertificateProfile,
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    not_after: datetime,
    alt_names: Sequence[x509.GeneralName] = (),
) -> x509.Certificate:
    """Build a certificate of `profile` for `public_key`, signed by `issuer_key` with SHA-256.

    A self-signed authority passes its own name as `issuer` and its own key as `issuer_key`.
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(
                ca=profile.is_authority, path_length=0 if profile.is_authority else None
            ),
            critical=True,
        )
        .add_extension(profile.key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if profile.extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=False
        )
    if alt_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(list(alt_names)), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())
