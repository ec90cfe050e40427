"""The model registry's contract, and the file handling every index implementation shares.

A registry owns one root laid out as `edgeward.bundles.RegistryLayout` describes. Versions are
numbered 1, 2, ... in registration order and never change: registering copies the bundle into
`models/<version>`, makes its files read-only and indexes it; a bundle whose canonical manifest
(weights digest included) is already indexed gets its existing version back. Aliases
("champion", named challengers) move in one transaction with an audit entry, then their pointer
file is rewritten, all under the index's write lock.

Subclasses provide the index: its write lock (exclusive across every instance that shares the
index, committing on success and undoing on error) and its reads and inserts.
"""

from __future__ import annotations

import builtins
import logging
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from control_plane.errors import RegistryError, VersionNotFound
from control_plane.registry.inbox import (
    discard_submission,
    pending_submissions,
    purge_discarded,
    reject_submission,
)
from control_plane.registry.model_dirs import (
    highest_version_on_disk,
    publish_version,
    purge_staging,
    stage_copy,
)
from control_plane.registry.records import (
    AliasMove,
    ImportReport,
    ModelVersion,
    Rejection,
    VersionRecord,
    gate_report_object,
)
from edgeward.bundles import (
    BundleError,
    BundleManifest,
    JsonObject,
    ManifestError,
    RegistryLayout,
    bundle_digest,
    check_alias_name,
    read_alias_pointer,
    read_bundle,
    utc_from_epoch,
    write_alias_pointer,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class ModelRegistry(ABC):
    """Immutable model versions, the aliases that name them, and every alias move."""

    def __init__(self, layout: RegistryLayout, *, clock: Clock = time.time) -> None:
        self.layout = layout
        self._clock = clock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def import_submissions(self) -> ImportReport:
        """Register every complete bundle in the inbox; move refused ones to `rejected/`."""
        with self._write_lock():
            purge_staging(self.layout)
            purge_discarded(self.layout)
        registered: list[ModelVersion] = []
        rejected: list[Rejection] = []
        already: list[str] = []
        for entry in pending_submissions(self.layout):
            outcome = self._import_one(entry)
            if isinstance(outcome, ModelVersion):
                registered.append(outcome)
            elif isinstance(outcome, Rejection):
                rejected.append(outcome)
            elif outcome is not None:
                already.append(outcome)
        return ImportReport(
            registered=tuple(registered),
            rejected=tuple(rejected),
            already_registered=tuple(already),
        )

    def register(self, bundle_dir: Path) -> ModelVersion:
        """Register the bundle in `bundle_dir` (left in place); return its version."""
        bundle_dir = Path(bundle_dir)
        manifest = read_bundle(bundle_dir).manifest
        with self._write_lock():
            version, _ = self._admit(bundle_dir, manifest, submission=None)
        return self.get(version)

    def get(self, version: int) -> ModelVersion:
        """Return a registered version; raise `VersionNotFound` if there is none."""
        record = self._version_record(version)
        if record is None:
            raise VersionNotFound(
                f"there is no model version {version} in the registry at {self.layout.root}"
            )
        return self._model_version(record, self._current_aliases())

    def list(self) -> builtins.list[ModelVersion]:
        """Return every registered version, oldest first, with its current aliases."""
        aliases = self._current_aliases()
        return [self._model_version(record, aliases) for record in self._version_records()]

    def set_alias(
        self,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str,
        report: Mapping[str, Any] | None = None,
    ) -> AliasMove:
        """Point `alias` at `version`, recording who, why and on what report; return the move."""
        _check_alias(alias)
        if not actor.strip() or not reason.strip():
            raise RegistryError("moving an alias needs an actor and a reason")
        report_object = gate_report_object(report)
        with self._write_lock():
            if self._version_record(version) is None:
                raise VersionNotFound(
                    f"cannot point {alias!r} at version {version}: no such version"
                )
            current = self._current_aliases().get(alias)
            move = self._insert_alias_move(
                alias=alias,
                version=version,
                previous_version=None if current is None else current.version,
                actor=actor,
                reason=reason,
                report=report_object,
                moved_at=self._now(),
            )
            write_alias_pointer(self.layout, alias=alias, version=version, updated_at=move.moved_at)
        logger.info(
            "alias %s moved from %s to %s by %s: %s",
            alias,
            move.previous_version,
            version,
            actor,
            reason,
        )
        return move

    def alias(self, name: str) -> ModelVersion | None:
        """Return the version an alias points to, or None if it is not set."""
        move = self._current_aliases().get(_check_alias(name))
        return None if move is None else self.get(move.version)

    def history(self, alias: str | None = None) -> builtins.list[AliasMove]:
        """Return every alias move (or those of one alias) in the order they happened."""
        return self._alias_moves(None if alias is None else _check_alias(alias))

    def sync_alias_pointers(self) -> int:
        """Rewrite alias pointer files that disagree with the index; return how many."""
        rewritten = 0
        with self._write_lock():
            for alias, move in self._current_aliases().items():
                try:
                    pointer = read_alias_pointer(self.layout, alias)
                except ManifestError:
                    pointer = None
                if pointer is None or pointer.version != move.version:
                    write_alias_pointer(
                        self.layout, alias=alias, version=move.version, updated_at=move.moved_at
                    )
                    rewritten += 1
        return rewritten

    @abstractmethod
    def close(self) -> None:
        """Release the index."""

    @abstractmethod
    def _write_lock(self) -> AbstractContextManager[None]:
        """Hold the index's exclusive write lock; commit on success, undo on error."""

    @abstractmethod
    def _max_version(self) -> int:
        """Return the highest indexed version, 0 if none."""

    @abstractmethod
    def _find_digest(self, digest: str) -> int | None:
        """Return the version whose bundle digest is `digest`, if any."""

    @abstractmethod
    def _insert_version(self, record: VersionRecord) -> None:
        """Index a new version (under the write lock)."""

    @abstractmethod
    def _version_record(self, version: int) -> VersionRecord | None:
        """Return one indexed version."""

    @abstractmethod
    def _version_records(self) -> builtins.list[VersionRecord]:
        """Return every indexed version, by version."""

    @abstractmethod
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
        """Append an alias move (under the write lock) and return it with its id."""

    @abstractmethod
    def _current_aliases(self) -> dict[str, AliasMove]:
        """Return the latest move of every alias, by alias."""

    @abstractmethod
    def _alias_moves(self, alias: str | None) -> builtins.list[AliasMove]:
        """Return alias moves by id, all or one alias's."""

    def _now(self) -> datetime:
        return utc_from_epoch(self._clock())

    def _import_one(self, entry: Path) -> ModelVersion | Rejection | str | None:
        with self._write_lock():
            if not entry.exists():
                return None  # another importer took it
            try:
                manifest = read_bundle(entry).manifest
            except BundleError as err:
                return reject_submission(
                    self.layout, entry, reason=str(err), rejected_at=self._now()
                )
            version, new = self._admit(entry, manifest, submission=entry.name)
        with self._write_lock():
            discard_submission(self.layout, entry)
        if not new:
            logger.info("submission %s is version %s already; removed it", entry.name, version)
            return entry.name
        return self.get(version)

    def _admit(
        self, source: Path, manifest: BundleManifest, *, submission: str | None
    ) -> tuple[int, bool]:
        digest = bundle_digest(manifest)
        existing = self._find_digest(digest)
        if existing is not None:
            return existing, False
        staging = stage_copy(source, self.layout, manifest)
        try:
            version = self._next_version()
            path = publish_version(staging, self.layout, version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._insert_version(
            VersionRecord.of_manifest(
                manifest,
                version=version,
                digest=digest,
                submission=submission,
                registered_at=self._now(),
            )
        )
        logger.info("registered %s as version %s at %s", manifest.name, version, path)
        return version, True

    def _next_version(self) -> int:
        indexed = self._max_version()
        on_disk = highest_version_on_disk(self.layout)
        if on_disk > indexed:
            logger.warning(
                "models/ holds folders up to %s but the index ends at %s "
                "(left by an interrupted registration); numbering continues after them",
                on_disk,
                indexed,
            )
        return max(indexed, on_disk) + 1

    def _model_version(self, record: VersionRecord, aliases: dict[str, AliasMove]) -> ModelVersion:
        return ModelVersion(
            version=record.version,
            name=record.name,
            created_at=record.created_at,
            registered_at=record.registered_at,
            path=self.layout.model_dir(record.version),
            schema_hash=record.schema_hash,
            parent_version=record.parent_version,
            weights_sha256=record.weights_sha256,
            bundle_digest=record.bundle_digest,
            submission=record.submission,
            aliases=tuple(sorted(a for a, m in aliases.items() if m.version == record.version)),
        )


def _check_alias(alias: str) -> str:
    try:
        return check_alias_name(alias)
    except BundleError as err:
        raise RegistryError(str(err)) from err
