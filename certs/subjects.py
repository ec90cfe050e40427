"""Validate the names that become certificate subjects, file names and alternative names."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from cryptography import x509

from edgeward.errors import CertificateError

# A name becomes `<name>.pem` and `<name>.key` inside the PKI directory and the subject's
# common name, so it is one path component of safe characters, at most 64 long (the X.509
# upper bound for a common name).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_RESERVED_NAMES = frozenset({"ca"})
CLIENT_URI_PREFIX = "urn:edgeward:client:"


def check_name(name: str) -> str:
    """Return `name` if it is a safe certificate and file name, else raise `CertificateError`."""
    if not _NAME.fullmatch(name) or name.endswith("."):
        raise CertificateError(
            f"Invalid certificate name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if name.lower() in _RESERVED_NAMES:
        raise CertificateError(
            f"The certificate name {name!r} is reserved for the certificate authority."
        )
    return name


def server_alt_names(
    dns_names: Sequence[str], ip_addresses: Sequence[str]
) -> list[x509.GeneralName]:
    """Return the subject alternative names of a server, refusing malformed or absent ones."""
    for given, kind in ((dns_names, "DNS names"), (ip_addresses, "IP addresses")):
        if isinstance(given, str):
            raise CertificateError(f"Give the server's {kind} as a list, not one string.")
    names: list[x509.GeneralName] = [x509.DNSName(_check_dns_name(name)) for name in dns_names]
    names.extend(x509.IPAddress(_parse_ip_address(address)) for address in ip_addresses)
    if not names:
        raise CertificateError(
            "A server certificate needs at least one DNS name or IP address to be verifiable."
        )
    return names


def client_alt_names(name: str) -> list[x509.GeneralName]:
    """Return the subject alternative names of the client `name` (a checked name)."""
    return [x509.UniformResourceIdentifier(f"{CLIENT_URI_PREFIX}{name}")]


def _check_dns_name(name: str) -> str:
    """Return `name` if it is an ASCII host name, else raise `CertificateError`."""
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise CertificateError(f"Invalid DNS name {name!r} for a server certificate.")
    return name.lower()


def _parse_ip_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse `address` as an IPv4 or IPv6 address, raising `CertificateError` if it is not."""
    try:
        return ipaddress.ip_address(address)
    except ValueError as err:
        raise CertificateError(f"Invalid IP address {address!r} for a server certificate.") from err
