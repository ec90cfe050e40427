"""What only the SQLite registry promises: it survives a restart and its index is append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from control_plane.errors import RegistryError
from control_plane.registry import REGISTRY_DB, SqliteRegistry
from edgeward.bundles import read_alias_pointer
from tests.control_plane.samples import make_bundle


def test_versions_and_aliases_survive_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    with SqliteRegistry.open(root) as registry:
        registry.register(make_bundle(tmp_path / "b1", seed=1))
        registry.register(make_bundle(tmp_path / "b2", seed=2))
        registry.set_alias("champion", 2, actor="alice", reason="bootstrap", report={"ok": True})
        before = (registry.list(), registry.history())
    with SqliteRegistry.open(root) as reopened:
        assert (reopened.list(), reopened.history()) == before
        assert reopened.register(make_bundle(tmp_path / "b3", seed=3)).version == 3


def test_opening_repairs_a_pointer_file_a_crash_left_behind(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    with SqliteRegistry.open(root) as registry:
        registry.register(make_bundle(tmp_path / "b1", seed=1))
        registry.set_alias("champion", 1, actor="alice", reason="bootstrap")
        registry.layout.alias_file("champion").unlink()
        registry.layout.alias_file("canary").write_text("{torn")
    with SqliteRegistry.open(root) as reopened:
        pointer = read_alias_pointer(reopened.layout, "champion")
        assert pointer is not None
        assert pointer.version == 1


def test_the_index_refuses_updates_and_deletes(tmp_path: Path) -> None:
    with SqliteRegistry.open(tmp_path) as registry:
        registry.register(make_bundle(tmp_path / "b1", seed=1))
        registry.set_alias("champion", 1, actor="alice", reason="bootstrap")
        for statement in (
            "UPDATE versions SET name = 'x'",
            "DELETE FROM versions",
            "UPDATE alias_moves SET version = 1",
            "DELETE FROM alias_moves",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                registry.db.execute(statement)


def test_read_only_needs_an_existing_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=f"no model registry at .*{REGISTRY_DB}"):
        SqliteRegistry.open_read_only(tmp_path)
