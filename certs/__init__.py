"""The project PKI: a certificate authority, the control plane's keys and the enrolled fleet.

`init_pki` makes the control plane's identity; `issue_device`, `rotate_device` and
`revoke_device` manage devices and their enrollment bundles; `admitted_site` is the lookup
the control plane's ZAP handler makes on every CURVE handshake.
"""

from certs.authority import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CertificateAuthority,
    IssuedCertificate,
    create_authority,
    load_authority,
)
from certs.curve_keys import (
    CurveKeyFiles,
    CurveKeyPair,
    curve_public_key,
    generate_curve_keypair,
    parse_curve_certificate,
    read_curve_certificate,
    write_curve_certificates,
    z85_decode,
    z85_encode,
)
from certs.device_index import DEVICES_DB_FILE, DeviceRecord, admitted_site
from certs.devices import (
    ROTATED_REASON,
    EnrollmentBundle,
    issue_device,
    list_devices,
    revoke_device,
    rotate_device,
)
from certs.enrollment_bundle import (
    ENROLLMENT_MANIFEST,
    EnrollmentContents,
    read_enrollment_bundle,
)
from certs.enrollment_manifest import (
    BUNDLE_MEMBERS,
    BundleMember,
    EnrollmentBundleError,
    EnrollmentManifest,
)
from certs.node_keys import NodeKeys, create_node_keys
from certs.pem_files import read_certificate
from certs.pki import PKI_FILE, Pki, check_control_plane_address, init_pki, load_pki
from certs.signing_keys import SIGNING_KEY_FILE, SIGNING_PUBLIC_KEY_FILE, SigningKeys

__all__ = [
    "BUNDLE_MEMBERS",
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "DEVICES_DB_FILE",
    "ENROLLMENT_MANIFEST",
    "PKI_FILE",
    "ROTATED_REASON",
    "SIGNING_KEY_FILE",
    "SIGNING_PUBLIC_KEY_FILE",
    "BundleMember",
    "CertificateAuthority",
    "CurveKeyFiles",
    "CurveKeyPair",
    "DeviceRecord",
    "EnrollmentBundle",
    "EnrollmentBundleError",
    "EnrollmentContents",
    "EnrollmentManifest",
    "IssuedCertificate",
    "NodeKeys",
    "Pki",
    "SigningKeys",
    "admitted_site",
    "check_control_plane_address",
    "create_authority",
    "create_node_keys",
    "curve_public_key",
    "generate_curve_keypair",
    "init_pki",
    "issue_device",
    "list_devices",
    "load_authority",
    "load_pki",
    "parse_curve_certificate",
    "read_certificate",
    "read_curve_certificate",
    "read_enrollment_bundle",
    "revoke_device",
    "rotate_device",
    "write_curve_certificates",
    "z85_decode",
    "z85_encode",
]
