"""`enrollment.json`: what an enrollment bundle is for and what each of its files is.

Example::

    {"format": "edgeward-enrollment", "format_version": 1,
     "site": "site-001", "generation": 1, "issued_at": "2026-05-01T10:00:00Z",
     "control_plane_address": "tcp://10.0.0.5:7700",
     "control_plane_curve_public_key": "<z85>", "curve_public_key": "<z85>",
     "certificate_fingerprint": "<sha256 hex of device.pem's DER>",
     "files": {"device.key": {"sha256": "<hex>", "mode": "0600",
                              "description": "TLS client private key"}, ...}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from certs.curve_keys import check_curve_key
from certs.pem_files import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE
from certs.pki import check_control_plane_address
from certs.subjects import check_name
from edgeward.errors import CertificateError

ENROLLMENT_FORMAT = "edgeward-enrollment"
ENROLLMENT_FORMAT_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


class EnrollmentBundleError(CertificateError):
    """An enrollment bundle cannot be written, or is not one this Edgeward can trust."""


@dataclass(kw_only=True, slots=True, frozen=True)
class BundleMember:
    """A file of the enrollment bundle and of the identity folder made from it."""

    name: str
    private: bool
    description: str

    @property
    def mode(self) -> int:
        """Return the file mode the member is installed with: 0600 if private, else 0644."""
        return PRIVATE_FILE_MODE if self.private else PUBLIC_FILE_MODE


BUNDLE_MEMBERS: tuple[BundleMember, ...] = (
    BundleMember(name="ca.pem", private=False, description="fleet certificate authority"),
    BundleMember(name="device.pem", private=False, description="TLS client certificate"),
    BundleMember(name="device.key", private=True, description="TLS client private key"),
    BundleMember(name="curve.key", private=False, description="CURVE public certificate"),
    BundleMember(name="curve.key_secret", private=True, description="CURVE secret certificate"),
    BundleMember(name="node.key", private=True, description="SuperNode private key"),
    BundleMember(name="node.pub", private=False, description="SuperNode public key"),
    BundleMember(
        name="control-plane.curve.key",
        private=False,
        description="control plane's CURVE public certificate",
    ),
    BundleMember(name="signing.pub", private=False, description="model-signing public key"),
)


@dataclass(kw_only=True, slots=True, frozen=True)
class EnrollmentManifest:
    """The content of `enrollment.json`; CURVE keys are Z85 text as ASCII bytes."""

    site: str
    generation: int
    issued_at: datetime
    control_plane_address: str
    control_plane_curve_public_key: bytes
    curve_public_key: bytes
    certificate_fingerprint: str
    file_digests: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as the JSON document `enrollment.json` holds."""
        members = {member.name: member for member in BUNDLE_MEMBERS}
        return {
            "format": ENROLLMENT_FORMAT,
            "format_version": ENROLLMENT_FORMAT_VERSION,
            "site": self.site,
            "generation": self.generation,
            "issued_at": self.issued_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "control_plane_address": self.control_plane_address,
            "control_plane_curve_public_key": self.control_plane_curve_public_key.decode(),
            "curve_public_key": self.curve_public_key.decode(),
            "certificate_fingerprint": self.certificate_fingerprint,
            "files": {
                name: {
                    "sha256": digest,
                    "mode": f"{members[name].mode:04o}",
                    "description": members[name].description,
                }
                for name, digest in sorted(self.file_digests.items())
            },
        }

    def to_json_bytes(self) -> bytes:
        """Return `enrollment.json` as written: indented, sorted keys, UTF-8."""
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json_bytes(cls, data: bytes, *, source: str) -> EnrollmentManifest:
        """Parse and check `enrollment.json`; `source` names it in error messages."""
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise EnrollmentBundleError(f"{source} is not valid JSON: {err}.") from err
        if not isinstance(document, dict) or document.get("format") != ENROLLMENT_FORMAT:
            raise EnrollmentBundleError(f"{source} is not an Edgeward enrollment manifest.")
        if document.get("format_version") != ENROLLMENT_FORMAT_VERSION:
            raise EnrollmentBundleError(
                f"{source} has format version {document.get('format_version')!r}; this "
                f"Edgeward reads version {ENROLLMENT_FORMAT_VERSION}."
            )
        try:
            return _manifest_from(document)
        except (CertificateError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise EnrollmentBundleError(f"{source} is invalid: {_describe(err)}") from err


def _manifest_from(document: dict[str, Any]) -> EnrollmentManifest:
    """Build a manifest from a parsed document, raising on any field that is wrong."""
    generation = document["generation"]
    if not isinstance(generation, int) or isinstance(generation, bool) or generation < 1:
        raise ValueError(f"generation must be a whole number from 1, not {generation!r}")
    issued_at = datetime.fromisoformat(document["issued_at"])
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone")
    fingerprint = document["certificate_fingerprint"]
    digests = {name: entry["sha256"] for name, entry in document["files"].items()}
    for value in (fingerprint, *digests.values()):
        if not isinstance(value, str) or not _SHA256.fullmatch(value):
            raise ValueError(f"{value!r} is not a SHA-256 in hex")
    return EnrollmentManifest(
        site=check_name(document["site"]),
        generation=generation,
        issued_at=issued_at,
        control_plane_address=check_control_plane_address(document["control_plane_address"]),
        control_plane_curve_public_key=check_curve_key(
            document["control_plane_curve_public_key"], what="control plane's CURVE key"
        ),
        curve_public_key=check_curve_key(document["curve_public_key"], what="device CURVE key"),
        certificate_fingerprint=fingerprint,
        file_digests=digests,
    )


def _describe(err: Exception) -> str:
    """Say what is wrong in one sentence, naming a missing field."""
    if isinstance(err, KeyError):
        return f"the field {err.args[0]!r} is missing."
    text = str(err)
    return text if text.endswith(".") else f"{text}."
