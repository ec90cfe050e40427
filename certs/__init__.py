"""The project PKI: a certificate authority that issues TLS server and client certificates."""

from certs.authority import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CertificateAuthority,
    IssuedCertificate,
    create_authority,
    load_authority,
)
from certs.node_keys import NodeKeys, create_node_keys
from certs.pem_files import read_certificate

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CertificateAuthority",
    "IssuedCertificate",
    "NodeKeys",
    "create_authority",
    "create_node_keys",
    "load_authority",
    "read_certificate",
]
