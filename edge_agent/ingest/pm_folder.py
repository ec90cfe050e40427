"""Watch a folder for 3GPP PM files; move each to `done/` or `failed/` once committed.

Files are picked up when their modification time is at least `settle_s` old, so a file still
being written is left alone (writers should write to a temporary name and rename). A file is
moved only after its records and quarantine entries are committed; after a crash in between
it is read again and the store recognises its records as duplicates. Gzipped files
(`.xml.gz`) are read with a cap on their unpacked size.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from edge_agent.ingest.pm_xml import PmFileUnreadable, parse_pm_document
from edge_agent.ingest.writer import Inbound, IngestWriter
from edge_agent.settings import PmFileSettings
from edgeward.records import Candidate, QuarantineReason, Rejection
from edgeward.workers import PeriodicWorker

log = logging.getLogger(__name__)
DONE_DIR = "done"
FAILED_DIR = "failed"
SUFFIXES = (".xml", ".xml.gz")
HEAD_BYTES = 4096


class PmFileJob:
    """One file on its way through the writer: decode it, then move it where it belongs."""

    def __init__(self, path: Path, *, max_bytes: int, on_done: Callable[[Path], None]) -> None:
        self.path = path
        self.origin = f"pm:{path.name}"
        self._max_bytes = max_bytes
        self._on_done = on_done
        self.failed = False

    def decode(self) -> list[Candidate | Rejection]:
        """Read and parse the file; a file that cannot be used becomes one rejection."""
        try:
            data = self._read()
            return list(parse_pm_document(data, origin=self.origin))
        except PmFileUnreadable as err:
            reason, detail = err.reason, err.detail
        except Exception as err:  # a parser bug must not lose the file: it goes to failed/
            log.exception("parsing %s failed unexpectedly", self.path)
            reason, detail = QuarantineReason.INTERNAL_ERROR, f"parser failed: {type(err).__name__}"
        self.failed = True
        return [Rejection(origin=self.origin, raw=self._head(), reason=reason, detail=detail)]

    def on_commit(self) -> None:
        """Move the file to `done/`, or to `failed/` if it could not be read at all."""
        target_dir = self.path.parent / (FAILED_DIR if self.failed else DONE_DIR)
        target_dir.mkdir(exist_ok=True)
        self.path.replace(target_dir / self.path.name)
        self._on_done(self.path)

    def _read(self) -> bytes:
        try:
            if self.path.name.endswith(".gz"):
                with gzip.open(self.path, "rb") as file:
                    data = file.read(self._max_bytes + 1)
            else:
                with self.path.open("rb") as file:
                    data = file.read(self._max_bytes + 1)
        except (OSError, EOFError, zlib.error) as err:
            raise PmFileUnreadable(QuarantineReason.UNREADABLE_FILE, f"cannot read: {err}") from err
        if len(data) > self._max_bytes:
            raise PmFileUnreadable(
                QuarantineReason.PAYLOAD_TOO_LARGE,
                f"more than {self._max_bytes} bytes (unpacked); raise pm_files.max_file_bytes",
            )
        return data

    def _head(self) -> bytes:
        try:
            with self.path.open("rb") as file:
                return file.read(HEAD_BYTES)
        except OSError:
            return b""


class PmFolderWatcher(PeriodicWorker):
    """Poll the folder and hand settled files to the writer, one job per file."""

    def __init__(
        self,
        settings: PmFileSettings,
        writer: IngestWriter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.watch_dir is None:
            raise ValueError("PmFolderWatcher needs pm_files.watch_dir")
        super().__init__(name="pm-folder", interval_s=settings.poll_interval_s)
        self._folder = settings.watch_dir
        self._settings = settings
        self._writer = writer
        self._clock = clock
        self._in_flight: set[Path] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Create the folder if needed and start polling."""
        self._folder.mkdir(parents=True, exist_ok=True)
        super().start()

    def tick(self) -> None:
        """Poll once; a folder that cannot be listed is reported and polled again later."""
        try:
            self.poll_once()
        except OSError as err:
            log.error("cannot list %s: %s", self._folder, err)

    def poll_once(self) -> int:
        """Hand over every settled file not already in flight; return how many."""
        now = self._clock()
        handed = 0
        for path in sorted(self._folder.iterdir()):
            if not path.is_file() or not path.name.endswith(SUFFIXES):
                continue
            with self._lock:
                if path in self._in_flight:
                    continue
            try:
                if now - path.stat().st_mtime < self._settings.settle_s:
                    continue
            except FileNotFoundError:
                continue
            job = PmFileJob(path, max_bytes=self._settings.max_file_bytes, on_done=self._done)
            with self._lock:
                self._in_flight.add(path)
            self._writer.submit(
                Inbound(
                    origin=job.origin,
                    raw=b"",
                    decode=job.decode,
                    on_commit=job.on_commit,
                    redelivered=True,
                )
            )
            handed += 1
        return handed

    def _done(self, path: Path) -> None:
        with self._lock:
            self._in_flight.discard(path)
