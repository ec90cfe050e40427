"""SQLite stores shared by every role: connection settings and named migrations."""

from edgeward.store.database import open_database
from edgeward.store.migrations import Migration, apply_migrations

__all__ = ["Migration", "apply_migrations", "open_database"]
