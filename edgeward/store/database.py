"""Open a SQLite file the way every Edgeward store needs it: WAL, a busy timeout, foreign keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

import sqlite_utils

from edgeward.errors import StoreError

Synchronous = Literal["normal", "full"]


def open_database(
    path: Path,
    *,
    synchronous: Synchronous = "full",
    busy_timeout_ms: int = 10_000,
    read_only: bool = False,
) -> sqlite_utils.Database:
    """Open (creating if needed) the SQLite file at `path` in WAL mode.

    `synchronous="full"` makes every commit durable across power loss, which is what lets an
    agent acknowledge a message once its transaction commits; "normal" survives a process
    crash but not a power cut. The connection is shared by threads that serialise their own
    access (`check_same_thread=False`).
    """
    try:
        if read_only:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if not read_only:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as err:
        raise StoreError(f"cannot open the store at {path}: {err}") from err
    return sqlite_utils.Database(conn)
