"""What can go wrong with a model bundle, each error a sentence fit to show as is."""

from __future__ import annotations

from edgeward.errors import EdgewardError


class BundleError(EdgewardError):
    """A model bundle cannot be written, found or trusted."""

    exit_code = 7


class BundleNotFound(BundleError):
    """No bundle (or no alias pointer) where one was expected."""


class ManifestError(BundleError):
    """A manifest or alias pointer is not valid JSON or breaks the format's rules."""


class BundleCorrupt(BundleError):
    """The weights do not match the manifest: tampered, truncated or unreadable."""


class TensorError(BundleError):
    """A tensor handed to the writer cannot be stored (unsupported type, dtype or name)."""
