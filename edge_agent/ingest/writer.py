"""The single writer: validate what adapters hand over, commit in batches, then acknowledge.

Adapters never touch the store. They submit `Inbound` items; a worker thread drains the queue
in batches, decodes and validates them, writes records and quarantine entries in one
transaction and only after the commit calls each item's `on_commit` (the MQTT acknowledgement,
the move of a PM file to `done/`). A failed commit is retried and nothing is acknowledged
until it succeeds, so an acknowledged input is always in the store.
"""

from __future__ import annotations

import logging
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge_agent.governance.validator import RecordValidator
from edge_agent.store import AgentStore, BatchTotals
from edgeward.records import Candidate, MetricRecord, QuarantineReason, Rejection

log = logging.getLogger(__name__)

Decoder = Callable[[], Sequence[Candidate | Rejection]]


@dataclass(kw_only=True, slots=True)
class Inbound:
    """One input from an adapter, decoded in the writer thread.

    `raw` is kept only to quarantine the input if its decoder fails unexpectedly.
    `redelivered` marks an input that may already have been stored (MQTT DUP flag, a file
    processed again after a crash), so its quarantine entries are not counted twice.
    """

    origin: str
    raw: bytes
    decode: Decoder
    on_commit: Callable[[], None] | None = None
    redelivered: bool = False


class IngestWriter:
    """Batch, validate, commit and acknowledge inputs from every adapter."""

    def __init__(
        self,
        store: AgentStore,
        validator: RecordValidator,
        *,
        schema_id: int,
        max_batch: int = 500,
        max_wait_s: float = 0.02,
        queue_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._validator = validator
        self._schema_id = schema_id
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._clock = clock
        self._queue: queue.Queue[Inbound] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self.on_stored: list[Callable[[Sequence[MetricRecord]], None]] = []
        """Called in the writer thread with each batch's new records, after the commit."""
        self._thread: threading.Thread | None = None

    def submit(self, item: Inbound, timeout: float | None = None) -> None:
        """Queue `item`, waiting while the queue is full (raises `queue.Full` after `timeout`).

        The wait is the backpressure that slows an adapter down to the writer's pace.
        """
        self._queue.put(item, timeout=timeout)

    def start(self) -> None:
        """Start the worker thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit and acknowledge what is queued, then stop the worker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def process(self, items: Sequence[Inbound]) -> BatchTotals:
        """Validate and commit `items` in one transaction, then acknowledge them."""
        now = self._clock()
        accepted: list[tuple[MetricRecord, str]] = []
        candidates: list[Candidate] = []
        rejected: list[tuple[Rejection, bool]] = []
        for item in items:
            self._validate_item(item, now, accepted, candidates, rejected)
        conflicting: set[int] = set()
        with self._store.batch(schema_id=self._schema_id, received_at=now) as batch:
            for conflict in batch.add_records(accepted):
                conflicting.add(conflict.index)
                candidate = candidates[conflict.index]
                rejection = Rejection(
                    origin=candidate.origin,
                    raw=self._validator.quarantine_raw(candidate),
                    reason=QuarantineReason.CONFLICTING_DUPLICATE,
                    detail=conflict.detail,
                    source=accepted[conflict.index][0].source,
                )
                rejected.append((rejection, False))
            batch.add_rejections(rejected)
        if self.on_stored:
            stored = [r for i, (r, _) in enumerate(accepted) if i not in conflicting]
            for observer in self.on_stored:
                try:
                    observer(stored)
                except Exception:  # an observer's failure must not hold back acknowledgements
                    log.exception("a stored-records observer failed")
        for item in items:
            if item.on_commit is not None:
                try:
                    item.on_commit()
                except Exception:
                    log.exception("acknowledging %s failed; the source will resend it", item.origin)
        return batch.totals

    def _validate_item(
        self,
        item: Inbound,
        now: float,
        accepted: list[tuple[MetricRecord, str]],
        candidates: list[Candidate],
        rejected: list[tuple[Rejection, bool]],
    ) -> None:
        try:
            decoded = item.decode()
        except Exception as err:
            log.exception("decoding %s failed unexpectedly; quarantining it", item.origin)
            rejection = Rejection(
                origin=item.origin,
                raw=item.raw,
                reason=QuarantineReason.INTERNAL_ERROR,
                detail=f"decoder failed: {type(err).__name__}",
            )
            rejected.append((rejection, item.redelivered))
            return
        validate = self._validator.validate
        for entry in decoded:
            if isinstance(entry, Rejection):
                rejected.append((entry, item.redelivered))
                continue
            outcome = validate(entry, now=now)
            if isinstance(outcome, Rejection):
                rejected.append((outcome, item.redelivered))
            else:
                accepted.append((outcome, entry.origin))
                candidates.append(entry)

    def _run(self) -> None:
        while True:
            items = self._next_batch()
            if not items:
                if self._stop.is_set():
                    return
                continue
            self._commit_with_retry(items)

    def _next_batch(self) -> list[Inbound]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        items = [first]
        deadline = time.monotonic() + self._max_wait_s
        while len(items) < self._max_batch:
            remaining = deadline - time.monotonic()
            try:
                items.append(
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return items

    def _commit_with_retry(self, items: list[Inbound]) -> None:
        delay = 0.1
        while True:
            try:
                self.process(items)
                return
            except sqlite3.Error as err:
                if self._stop.is_set():
                    log.error(
                        "store write failed while stopping (%s); %d inputs stay "
                        "unacknowledged and will be resent",
                        err,
                        len(items),
                    )
                    return
                log.error("store write failed (%s); retrying in %.1f s", err, delay)
                self._stop.wait(delay * (0.5 + random.random()))  # noqa: S311 - jitter
                delay = min(delay * 2, 30.0)
