"""Logging for the command-line daemons: one line per event on stderr."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    """Send log records at `level` and above to stderr with a timestamp and the logger name."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
