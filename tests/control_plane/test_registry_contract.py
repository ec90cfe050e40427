"""One contract for every model registry backend: versions, inbox, aliases, history, races."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from control_plane.errors import RegistryError, VersionNotFound
from control_plane.registry import ModelRegistry, RegistryBackend, open_registry
from edgeward.bundles import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    RegistryLayout,
    read_alias,
    read_manifest,
)
from tests.control_plane.samples import make_bundle, submit, submit_corrupt
from tests.fakes.clock import FakeClock

NOW = 1_796_300_000.0  # 2026-12-03T12:13:20Z

OpenRegistry = Callable[[], ModelRegistry]


@pytest.fixture(params=["sqlite", "memory"])
def backend(request: pytest.FixtureRequest) -> RegistryBackend:
    """Return each backend's name in turn."""
    name: RegistryBackend = request.param
    return name


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return the registry's root folder."""
    return tmp_path / "registry"


@pytest.fixture
def layout(root: Path) -> RegistryLayout:
    """Return the registry layout that producers use."""
    return RegistryLayout(root)


@pytest.fixture
def open_more(backend: RegistryBackend, root: Path) -> Iterator[OpenRegistry]:
    """Return a function giving registries on the root that share one index.

    SQLite: a new instance each time (as another process would open it). Memory: the same
    instance, since its index cannot be shared.
    """
    opened: list[ModelRegistry] = []
    clock = FakeClock(NOW)

    def open_one() -> ModelRegistry:
        if backend == "memory" and opened:
            return opened[0]
        opened.append(open_registry(root, backend=backend, clock=clock))
        return opened[-1]

    yield open_one
    for registry in opened:
        registry.close()


@pytest.fixture
def registry(open_more: OpenRegistry) -> ModelRegistry:
    """Return a fresh registry."""
    return open_more()


def tree_digest(folder: Path) -> str:
    """Hash the names and contents of every file in a folder."""
    hasher = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        hasher.update(path.name.encode())
        if path.is_file():
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def test_versions_increase_from_one(registry: ModelRegistry, tmp_path: Path) -> None:
    versions = [registry.register(make_bundle(tmp_path / f"b{i}", seed=i)) for i in range(3)]
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.version for v in registry.list()] == [1, 2, 3]
    second = registry.get(2)
    assert second.name == "kpi-forecaster"
    assert second.path == registry.layout.model_dir(2)
    assert second.schema_hash == "f" * 64
    assert second.aliases == ()
    assert second.created_at.isoformat() == "2026-12-03T12:01:00+00:00"
    assert second.registered_at.timestamp() == NOW
    assert read_manifest(second.path).lineage["run_id"] == "run-1"


def test_unknown_version(registry: ModelRegistry) -> None:
    with pytest.raises(VersionNotFound, match="no model version 9"):
        registry.get(9)


def test_registering_the_same_bundle_again_returns_its_version(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    first = registry.register(make_bundle(tmp_path / "b", seed=1))
    again = registry.register(tmp_path / "b")
    from_registry = registry.register(first.path)
    assert again == first == from_registry
    assert len(registry.list()) == 1


def test_versions_never_change(registry: ModelRegistry, tmp_path: Path) -> None:
    first = registry.register(make_bundle(tmp_path / "b1", seed=1))
    before = tree_digest(first.path)
    for name in (WEIGHTS_FILE, MANIFEST_FILE):
        assert stat.S_IMODE((first.path / name).stat().st_mode) & 0o222 == 0, "not read-only"
    registry.register(make_bundle(tmp_path / "b2", seed=2))
    registry.set_alias("champion", 1, actor="alice", reason="first")
    assert tree_digest(first.path) == before
    assert registry.get(1) == replace(first, aliases=("champion",))


def test_an_unindexed_folder_in_models_is_never_overwritten(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    stray = make_bundle(registry.layout.model_dir(1), seed=9)
    before = tree_digest(stray)
    version = registry.register(make_bundle(tmp_path / "b", seed=1))
    assert version.version == 2
    assert tree_digest(stray) == before


def test_import_registers_good_submissions_and_rejects_bad_ones(
    registry: ModelRegistry, layout: RegistryLayout
) -> None:
    good = [submit(layout, seed) for seed in (1, 2)]
    corrupt = submit_corrupt(layout, seed=3)
    (layout.inbox / "not-a-bundle").mkdir()
    (layout.inbox / ".tmp-in-progress").mkdir()

    report = registry.import_submissions()

    assert [v.submission for v in report.registered] == good
    assert [v.version for v in report.registered] == [1, 2]
    rejected = {r.submission: r for r in report.rejected}
    assert set(rejected) == {corrupt, "not-a-bundle"}
    assert "digest" in rejected[corrupt].reason
    assert rejected[corrupt].path == layout.rejected / corrupt
    assert (layout.rejected / corrupt / WEIGHTS_FILE).exists()
    note = json.loads((layout.rejected / f"{corrupt}.reason.json").read_text())
    assert note["submission"] == corrupt
    assert "does not match the manifest's digest" in note["reason"]
    assert note["rejected_at"] == "2026-12-03T12:13:20Z"
    assert sorted(p.name for p in layout.inbox.iterdir()) == [".tmp-in-progress", "rejected"]


def test_import_is_idempotent(registry: ModelRegistry, layout: RegistryLayout) -> None:
    submit(layout, seed=1)
    registry.import_submissions()
    again = registry.import_submissions()
    assert again.registered == ()
    assert again.rejected == ()
    assert again.already_registered == ()
    assert len(registry.list()) == 1


def test_import_finishes_an_interrupted_one(
    registry: ModelRegistry, layout: RegistryLayout, tmp_path: Path
) -> None:
    first = registry.register(make_bundle(tmp_path / "b", seed=1))
    # Crash after indexing but before removing the submission: it is still in the inbox.
    (layout.inbox / "abc").mkdir(parents=True)
    for name in (WEIGHTS_FILE, MANIFEST_FILE):
        (layout.inbox / "abc" / name).write_bytes((first.path / name).read_bytes())
    # Crash while copying into models/: a staged copy is left behind.
    (layout.models / ".tmp-crashed").mkdir()
    (layout.inbox / ".done-crashed").mkdir()

    report = registry.import_submissions()

    assert report.already_registered == ("abc",)
    assert report.registered == ()
    assert [v.version for v in registry.list()] == [1]
    assert sorted(p.name for p in layout.models.iterdir()) == ["1"]
    assert list(layout.inbox.iterdir()) == []


def test_aliases_move_with_audit_entries_and_pointer_files(
    registry: ModelRegistry, layout: RegistryLayout
) -> None:
    for seed in (1, 2, 3):
        submit(layout, seed)
    registry.import_submissions()
    assert registry.alias("champion") is None

    registry.set_alias("champion", 1, actor="alice", reason="bootstrap")
    registry.set_alias("challenger-fedprox", 3, actor="aggregator", reason="new run")
    move = registry.set_alias(
        "champion", 2, actor="gate", reason="beats champion", report={"passed": True, "wins": 2}
    )

    assert move.previous_version == 1
    assert move.report == {"passed": True, "wins": 2}
    champion = registry.alias("champion")
    assert champion is not None
    assert champion.version == 2
    assert champion.aliases == ("champion",)
    assert {v.version: v.aliases for v in registry.list()} == {
        1: (),
        2: ("champion",),
        3: ("challenger-fedprox",),
    }
    pointer = json.loads(layout.alias_file("champion").read_text())
    assert pointer == {
        "alias": "champion",
        "version": 2,
        "path": "models/2",
        "updated_at": "2026-12-03T12:13:20Z",
    }
    followed = read_alias(layout, "champion")
    assert followed is not None
    assert followed.manifest == read_manifest(champion.path)
    assert set(followed.arrays) == {"w", "b"}


def test_history_lists_every_move_in_order(registry: ModelRegistry, tmp_path: Path) -> None:
    for seed in (1, 2):
        registry.register(make_bundle(tmp_path / f"b{seed}", seed=seed))
    registry.set_alias("champion", 1, actor="alice", reason="bootstrap")
    registry.set_alias("canary", 2, actor="bob", reason="try it")
    registry.set_alias("champion", 2, actor="gate", reason="promote", report={"margin": 0.1})
    registry.set_alias("champion", 1, actor="alice", reason="roll back")

    history = registry.history()
    assert [(m.alias, m.previous_version, m.version, m.actor) for m in history] == [
        ("champion", None, 1, "alice"),
        ("canary", None, 2, "bob"),
        ("champion", 1, 2, "gate"),
        ("champion", 2, 1, "alice"),
    ]
    assert [m.id for m in history] == sorted(m.id for m in history)
    assert [m.reason for m in registry.history("champion")] == ["bootstrap", "promote", "roll back"]
    assert history[2].report == {"margin": 0.1}
    assert history[0].to_dict()["moved_at"] == "2026-12-03T12:13:20Z"


def test_a_refused_alias_move_changes_nothing(
    registry: ModelRegistry, layout: RegistryLayout, tmp_path: Path
) -> None:
    registry.register(make_bundle(tmp_path / "b", seed=1))
    registry.set_alias("champion", 1, actor="alice", reason="bootstrap")
    pointer = layout.alias_file("champion").read_bytes()
    with pytest.raises(VersionNotFound, match="no such version"):
        registry.set_alias("champion", 7, actor="alice", reason="typo")
    with pytest.raises(RegistryError, match="is not a valid alias"):
        registry.set_alias("../champion", 1, actor="alice", reason="escape")
    with pytest.raises(RegistryError, match="needs an actor and a reason"):
        registry.set_alias("champion", 1, actor=" ", reason="who?")
    with pytest.raises(RegistryError, match="plain JSON"):
        registry.set_alias("champion", 1, actor="a", reason="r", report={"at": object()})
    assert len(registry.history()) == 1
    assert layout.alias_file("champion").read_bytes() == pointer


def test_concurrent_imports_register_each_submission_once(
    open_more: OpenRegistry, layout: RegistryLayout
) -> None:
    registries = [open_more(), open_more()]
    submissions = [submit(layout, seed) for seed in range(8)]
    start = threading.Barrier(len(registries))
    errors: list[BaseException] = []

    def run(registry: ModelRegistry) -> None:
        start.wait()
        try:
            registry.import_submissions()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(r,)) for r in registries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    versions = registries[0].list()
    assert [v.version for v in versions] == list(range(1, 9))
    assert sorted(v.submission or "" for v in versions) == sorted(submissions)
    assert len({v.bundle_digest for v in versions}) == 8
    assert sorted(p.name for p in layout.models.iterdir()) == [str(n) for n in range(1, 9)]
    assert list(layout.inbox.iterdir()) == []
