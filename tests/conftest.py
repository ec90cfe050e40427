"""Shared fixtures: a fake clock, the bundled schema, a validator and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.governance.pii import PiiScrubber
from edge_agent.governance.validator import RecordValidator
from edge_agent.ingest.writer import IngestWriter
from edge_agent.store import AgentStore
from edgeward.schema import MetricSchema, load_schema
from tests.fakes.clock import FakeClock

# NiceGUI's `user` fixture (the dashboard's tests); pytest takes plugins only from here.
pytest_plugins = ["nicegui.testing.user_plugin"]

NOW = 1_796_300_000.0  # 2026-12-03T12:13:20Z, a fixed instant for validation windows


@pytest.fixture
def clock() -> FakeClock:
    """Return a clock that only moves when a test moves it."""
    return FakeClock(NOW)


@pytest.fixture(scope="session")
def schema() -> MetricSchema:
    """Return the bundled RAN KPI schema."""
    return load_schema()


@pytest.fixture
def validator(schema: MetricSchema) -> RecordValidator:
    """Return a validator over the bundled schema with a fixed PII key."""
    return RecordValidator(schema, PiiScrubber(schema.pii, b"test-key"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AgentStore]:
    """Return a fresh agent store in a temporary folder."""
    opened = AgentStore.open(tmp_path / "agent")
    yield opened
    opened.close()


@pytest.fixture
def writer(
    store: AgentStore, validator: RecordValidator, schema: MetricSchema, clock: FakeClock
) -> IngestWriter:
    """Return a writer over the store (not started: tests call `process` directly)."""
    schema_id = store.register_schema(schema)
    return IngestWriter(store, validator, schema_id=schema_id, clock=clock)
