"""The control plane's own SQLite state: fleet, rollouts, gate reports and the audit log."""

from control_plane.state.audit import AuditEntry, AuditLog
from control_plane.state.database import CONTROL_DB, Writer, open_control_db
from control_plane.state.fleet import FleetStore, SiteRecord

__all__ = [
    "CONTROL_DB",
    "AuditEntry",
    "AuditLog",
    "FleetStore",
    "SiteRecord",
    "Writer",
    "open_control_db",
]
