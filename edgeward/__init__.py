"""Edgeward's shared core: settings, metric schema, records, store helpers and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgeward")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
