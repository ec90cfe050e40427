"""The registry's side of the inbox: list complete submissions, reject or discard them."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from control_plane.registry.records import Rejection
from edgeward.bundles import RegistryLayout, format_utc
from edgeward.bundles.durable import replace_file

logger = logging.getLogger(__name__)

DISCARD_PREFIX = ".done-"
REASON_SUFFIX = ".reason.json"


def pending_submissions(layout: RegistryLayout) -> list[Path]:
    """Return complete submissions in the inbox, oldest first (hidden entries are in progress)."""
    try:
        entries = [
            entry
            for entry in layout.inbox.iterdir()
            if not entry.name.startswith(".") and entry != layout.rejected
        ]
    except FileNotFoundError:
        return []
    return sorted(entries, key=_arrival_order)


def reject_submission(
    layout: RegistryLayout, entry: Path, *, reason: str, rejected_at: datetime
) -> Rejection:
    """Move a refused submission to `inbox/rejected/` next to a file saying why."""
    layout.rejected.mkdir(parents=True, exist_ok=True)
    target = layout.rejected / entry.name
    if target.exists():
        target = layout.rejected / f"{entry.name}-{uuid.uuid4().hex[:8]}"
    note = {"submission": entry.name, "reason": reason, "rejected_at": format_utc(rejected_at)}
    reason_file = target.with_name(target.name + REASON_SUFFIX)
    replace_file(reason_file, (json.dumps(note, indent=2) + "\n").encode("utf-8"))
    entry.rename(target)
    logger.warning("rejected submission %s: %s (moved to %s)", entry.name, reason, target)
    return Rejection(submission=entry.name, reason=reason, path=target)


def discard_submission(layout: RegistryLayout, entry: Path) -> None:
    """Remove a submission that is registered; it vanishes from the inbox in one rename."""
    trash = layout.inbox / f"{DISCARD_PREFIX}{uuid.uuid4().hex}"
    try:
        entry.rename(trash)
    except FileNotFoundError:
        return
    _remove(trash)


def purge_discarded(layout: RegistryLayout) -> None:
    """Finish removals that a crash interrupted."""
    if layout.inbox.is_dir():
        for leftover in layout.inbox.glob(f"{DISCARD_PREFIX}*"):
            _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _arrival_order(entry: Path) -> tuple[int, str]:
    try:
        return entry.stat().st_mtime_ns, entry.name
    except FileNotFoundError:
        return 0, entry.name
