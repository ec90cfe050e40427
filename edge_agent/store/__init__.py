"""The agent's local SQLite store: readings, quarantine, counters, holds and retention."""

from edge_agent.store.agent_store import STORE_FILE, AgentStore
from edge_agent.store.ingest_batch import BatchTotals, Conflict, IngestBatch
from edge_agent.store.retention import (
    RetentionPolicy,
    RetentionResult,
    add_hold,
    apply_retention,
    release_hold,
)
from edge_agent.store.status import IngestStatus, SourceStatus, health_snapshot, read_status

__all__ = [
    "STORE_FILE",
    "AgentStore",
    "BatchTotals",
    "Conflict",
    "IngestBatch",
    "IngestStatus",
    "RetentionPolicy",
    "RetentionResult",
    "SourceStatus",
    "add_hold",
    "apply_retention",
    "health_snapshot",
    "read_status",
    "release_hold",
]
