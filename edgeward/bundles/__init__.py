"""The model bundle format shared by every role, and the registry's on-disk layout.

A bundle is a directory holding `weights.safetensors` and `manifest.json`; see `manifest` for
the fields and `layout` for how producers and the registry exchange bundles.
"""

from edgeward.bundles.bundle import (
    MANIFEST_FILE,
    STAGING_PREFIX,
    WEIGHTS_FILE,
    Bundle,
    ManifestFields,
    publish_directory,
    read_bundle,
    read_manifest,
    verify_bundle,
    weights_digest,
    write_bundle,
)
from edgeward.bundles.errors import (
    BundleCorrupt,
    BundleError,
    BundleNotFound,
    ManifestError,
    TensorError,
)
from edgeward.bundles.layout import (
    ALIAS_PATTERN,
    CHAMPION,
    AliasPointer,
    RegistryLayout,
    check_alias_name,
    read_alias,
    read_alias_pointer,
    submit_bundle,
    write_alias_pointer,
)
from edgeward.bundles.manifest import (
    FORMAT_VERSION,
    BundleManifest,
    JsonObject,
    bundle_digest,
    canonical_manifest_bytes,
    parse_manifest,
)
from edgeward.bundles.signing import (
    BundleSignatureError,
    PublicKeySource,
    load_signing_key,
    load_verification_key,
    sign_bundle,
    verify_bundle_signature,
)
from edgeward.bundles.timestamps import format_utc, utc_from_epoch
from edgeward.bundles.weights import TensorLike

__all__ = [
    "ALIAS_PATTERN",
    "CHAMPION",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "STAGING_PREFIX",
    "WEIGHTS_FILE",
    "AliasPointer",
    "Bundle",
    "BundleCorrupt",
    "BundleError",
    "BundleManifest",
    "BundleNotFound",
    "BundleSignatureError",
    "JsonObject",
    "ManifestError",
    "ManifestFields",
    "PublicKeySource",
    "RegistryLayout",
    "TensorError",
    "TensorLike",
    "bundle_digest",
    "canonical_manifest_bytes",
    "check_alias_name",
    "format_utc",
    "load_signing_key",
    "load_verification_key",
    "parse_manifest",
    "publish_directory",
    "read_alias",
    "read_alias_pointer",
    "read_bundle",
    "read_manifest",
    "sign_bundle",
    "submit_bundle",
    "utc_from_epoch",
    "verify_bundle",
    "verify_bundle_signature",
    "weights_digest",
    "write_alias_pointer",
    "write_bundle",
]
