"""The exception hierarchy shared by every role, and the exit code each maps to.

Every error a person can see derives from `EdgewardError`, whose message is a sentence fit to
print as is. The CLI prints `error: <message>` and exits with the class's exit code; nothing
else (a traceback, a repr) reaches the terminal for these errors.
"""

from __future__ import annotations


class EdgewardError(Exception):
    """Base of every expected failure; its message is shown to people verbatim."""

    exit_code: int = 1


class SettingsError(EdgewardError):
    """A setting is missing or invalid (names the key and what is wrong)."""

    exit_code = 2


class SchemaError(EdgewardError):
    """The metric schema file cannot be read or is inconsistent."""

    exit_code = 3


class StoreError(EdgewardError):
    """The local store cannot be opened or migrated."""

    exit_code = 4


class ConnectionFailed(EdgewardError):
    """A peer (broker, control plane) could not be reached."""

    exit_code = 5


class CertificateError(EdgewardError):
    """A certificate or key is missing, unreadable or does not match."""

    exit_code = 6
