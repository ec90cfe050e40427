"""The device index: which sites are enrolled, with which keys, and which were revoked.

`devices.db` is SQLite in WAL mode, so readers (the control plane's ZAP handler, in its own
process or thread) never wait for writers and always see a committed state. One row per
enrollment generation of a site; at most one row per site is active (`revoked_at IS NULL`),
which a partial unique index enforces. Rotation revokes the old row and inserts the next
generation in one transaction, so the old CURVE key stops being admitted at the commit.

Thread safety: every function opens its own connection and closes it before returning, so
all of them may be called from any thread or process at the same time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certs.curve_keys import check_curve_key
from edgeward.errors import CertificateError

DEVICES_DB_FILE = "devices.db"
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_S = 10.0
_SCHEMA = """
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    generation INTEGER NOT NULL CHECK (generation >= 1),
    curve_public_key TEXT NOT NULL UNIQUE,
    node_public_key TEXT NOT NULL,
    certificate_fingerprint TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    UNIQUE (site, generation)
);
CREATE UNIQUE INDEX devices_one_active_per_site ON devices (site) WHERE revoked_at IS NULL;
"""
_SELECT_LATEST = (
    "SELECT site, generation, curve_public_key, node_public_key, certificate_fingerprint, "
    "issued_at, revoked_at, revocation_reason FROM devices "
    "WHERE site = ? ORDER BY generation DESC LIMIT 1"
)
_SELECT_ALL = (
    "SELECT site, generation, curve_public_key, node_public_key, certificate_fingerprint, "
    "issued_at, revoked_at, revocation_reason FROM devices ORDER BY site, generation"
)
_SELECT_NEWEST = (
    "SELECT site, generation, curve_public_key, node_public_key, certificate_fingerprint, "
    "issued_at, revoked_at, revocation_reason FROM devices WHERE generation = "
    "(SELECT MAX(generation) FROM devices AS d WHERE d.site = devices.site) "
    "ORDER BY site, generation"
)
_SELECT_ADMITTED = "SELECT site FROM devices WHERE curve_public_key = ? AND revoked_at IS NULL"


@dataclass(kw_only=True, slots=True, frozen=True)
class DeviceRecord:
    """One enrollment generation of a site: its public keys and whether it is revoked."""

    site: str
    generation: int
    curve_public_key: str
    node_public_key: str
    certificate_fingerprint: str
    issued_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None

    @property
    def active(self) -> bool:
        """Return whether this generation is still admitted."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready values (timestamps in ISO-8601 UTC)."""
        return {
            "site": self.site,
            "generation": self.generation,
            "active": self.active,
            "curve_public_key": self.curve_public_key,
            "node_public_key": self.node_public_key,
            "certificate_fingerprint": self.certificate_fingerprint,
            "issued_at": format_timestamp(self.issued_at),
            "revoked_at": None if self.revoked_at is None else format_timestamp(self.revoked_at),
            "revocation_reason": self.revocation_reason,
        }


def format_timestamp(moment: datetime) -> str:
    """Return `moment` as ISO-8601 in UTC ending in `Z`, as the index stores it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def create_device_index(path: Path) -> None:
    """Create an empty device index at `path` (which must not exist), in WAL mode."""
    if path.exists():
        raise CertificateError(f"The file {path} already exists; it was not overwritten.")
    try:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version={_SCHEMA_VERSION};")
            connection.execute("COMMIT")
    except sqlite3.Error as err:
        raise CertificateError(f"Cannot create the device index {path}: {err}.") from err


@contextlib.contextmanager
def write_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """Open the index at `path` and hold its write lock until the block ends (then commit)."""
    if not path.is_file():
        raise CertificateError(f"There is no device index at {path}; run 'edgeward certs init'.")
    try:
        connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as err:
        raise CertificateError(f"Cannot open the device index {path}: {err}.") from err
    try:
        _check_schema(connection, path)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    except sqlite3.Error as err:
        raise CertificateError(f"The device index {path} cannot be updated: {err}.") from err
    finally:
        connection.close()


def latest_record(connection: sqlite3.Connection, site: str) -> DeviceRecord | None:
    """Return the newest generation of `site`, active or not; None if it was never enrolled."""
    row = connection.execute(_SELECT_LATEST, (site,)).fetchone()
    return None if row is None else _record(row)


def insert_record(
    connection: sqlite3.Connection, record: DeviceRecord, *, certificate_pem: str
) -> None:
    """Add an active generation of a site (the caller holds a write transaction)."""
    connection.execute(
        "INSERT INTO devices (site, generation, curve_public_key, node_public_key, "
        "certificate_fingerprint, certificate_pem, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record.site,
            record.generation,
            record.curve_public_key,
            record.node_public_key,
            record.certificate_fingerprint,
            certificate_pem,
            format_timestamp(record.issued_at),
        ),
    )


def mark_revoked(
    connection: sqlite3.Connection, record: DeviceRecord, *, at: datetime, reason: str
) -> DeviceRecord:
    """Revoke the active generation `record` and return it as revoked."""
    cursor = connection.execute(
        "UPDATE devices SET revoked_at = ?, revocation_reason = ? "
        "WHERE site = ? AND generation = ? AND revoked_at IS NULL",
        (format_timestamp(at), reason, record.site, record.generation),
    )
    if cursor.rowcount != 1:
        raise CertificateError(
            f"Generation {record.generation} of {record.site} changed while it was being "
            "revoked; try again."
        )
    return dataclasses.replace(record, revoked_at=at, revocation_reason=reason)


def read_records(path: Path, *, history: bool = False) -> list[DeviceRecord]:
    """Return every site's newest generation by site name, or with `history` every row."""
    rows = _read_only_query(path, _SELECT_ALL if history else _SELECT_NEWEST, ())
    return [_record(row) for row in rows]


def find_record(path: Path, site: str) -> DeviceRecord | None:
    """Return the newest generation of `site` in the index at `path`, if it was ever enrolled."""
    rows = _read_only_query(path, _SELECT_LATEST, (site,))
    return _record(rows[0]) if rows else None


def admitted_site(pki_dir: Path, curve_public_key_z85: str | bytes) -> str | None:
    """Return the site whose active enrollment has this CURVE public key; None if none has.

    This is the lookup a ZAP handler makes on every CURVE handshake: one indexed query on a
    read-only connection opened for the call, safe from any thread or process while other
    processes issue, rotate or revoke. A malformed key is simply not admitted. A missing or
    unreadable index raises `CertificateError`; a ZAP handler should refuse the handshake then
    (fail closed) rather than let the error stop its thread.
    """
    try:
        key = check_curve_key(curve_public_key_z85).decode("ascii")
    except CertificateError:
        return None
    rows = _read_only_query(
        Path(pki_dir) / DEVICES_DB_FILE,
        _SELECT_ADMITTED,
        (key,),
    )
    return str(rows[0][0]) if rows else None


def _read_only_query(path: Path, query: str, parameters: tuple[Any, ...]) -> list[Any]:
    """Run `query` on a read-only connection to the index at `path` and return its rows."""
    if not path.is_file():
        raise CertificateError(f"There is no device index at {path}; run 'edgeward certs init'.")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(
            sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S)
        ) as connection:
            _check_schema(connection, path)
            return connection.execute(query, parameters).fetchall()
    except sqlite3.Error as err:
        raise CertificateError(f"The device index {path} cannot be read: {err}.") from err


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse an index written by a different version of this schema."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version != _SCHEMA_VERSION:
        raise CertificateError(
            f"The device index {path} has schema version {version}; this Edgeward reads "
            f"version {_SCHEMA_VERSION}."
        )


def _record(row: tuple[Any, ...]) -> DeviceRecord:
    """Build a record from a row of the `_SELECT_*` queries."""
    site, generation, curve, node, fingerprint, issued, revoked, reason = row
    return DeviceRecord(
        site=site,
        generation=generation,
        curve_public_key=curve,
        node_public_key=node,
        certificate_fingerprint=fingerprint,
        issued_at=datetime.fromisoformat(issued),
        revoked_at=None if revoked is None else datetime.fromisoformat(revoked),
        revocation_reason=reason,
    )
