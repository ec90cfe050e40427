"""The model registry indexed in memory: for tests and one-process demos.

Bundles and alias pointers still live on disk under the root (producers and the aggregator
read them there). The index lives and dies with the object, so exactly one instance may use a
root at a time; the SQLite registry is the one to share.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from control_plane.registry.base import Clock, ModelRegistry
from control_plane.registry.records import AliasMove, VersionRecord
from edgeward.bundles import JsonObject, RegistryLayout


class MemoryRegistry(ModelRegistry):
    """A registry whose index is a dict and a list, guarded by one lock."""

    def __init__(self, layout: RegistryLayout, *, clock: Clock = time.time) -> None:
        super().__init__(layout, clock=clock)
        self._lock = threading.RLock()
        self._versions: dict[int, VersionRecord] = {}
        self._moves: list[AliasMove] = []

    @classmethod
    def open(cls, root: Path, *, clock: Clock = time.time) -> MemoryRegistry:
        """Create an empty in-memory index over the registry folder `root`."""
        layout = RegistryLayout(Path(root))
        layout.create()
        return cls(layout, clock=clock)

    def close(self) -> None:
        """Nothing to release."""

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        with self._lock:
            versions, moves = dict(self._versions), list(self._moves)
            try:
                yield
            except BaseException:
                self._versions, self._moves = versions, moves
                raise

    def _max_version(self) -> int:
        with self._lock:
            return max(self._versions, default=0)

    def _find_digest(self, digest: str) -> int | None:
        with self._lock:
            for record in self._versions.values():
                if record.bundle_digest == digest:
                    return record.version
        return None

    def _insert_version(self, record: VersionRecord) -> None:
        with self._lock:
            if record.version in self._versions:
                raise AssertionError(f"version {record.version} is already indexed")
            self._versions[record.version] = record

    def _version_record(self, version: int) -> VersionRecord | None:
        with self._lock:
            return self._versions.get(version)

    def _version_records(self) -> builtins.list[VersionRecord]:
        with self._lock:
            return [self._versions[v] for v in sorted(self._versions)]

    def _insert_alias_move(
        self,
        *,
        alias: str,
        version: int,
        previous_version: int | None,
        actor: str,
        reason: str,
        report: JsonObject | None,
        moved_at: datetime,
    ) -> AliasMove:
        with self._lock:
            move = AliasMove(
                id=len(self._moves) + 1,
                alias=alias,
                version=version,
                previous_version=previous_version,
                actor=actor,
                reason=reason,
                report=report,
                moved_at=moved_at,
            )
            self._moves.append(move)
        return move

    def _current_aliases(self) -> dict[str, AliasMove]:
        with self._lock:
            return {move.alias: move for move in self._moves}

    def _alias_moves(self, alias: str | None) -> builtins.list[AliasMove]:
        with self._lock:
            return [move for move in self._moves if alias is None or move.alias == alias]
