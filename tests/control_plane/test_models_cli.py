"""`edgeward models list|show`: what an operator sees of the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_plane.errors import RegistryError, VersionNotFound
from control_plane.registry import SqliteRegistry
from edgeward.bundles import WEIGHTS_FILE, BundleCorrupt
from edgeward.cli.main import cli
from tests.control_plane.samples import make_bundle


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return a registry with two versions, the second one champion."""
    registry_root = tmp_path / "registry"
    with SqliteRegistry.open(registry_root) as registry:
        registry.register(make_bundle(tmp_path / "b1", seed=1))
        registry.register(make_bundle(tmp_path / "b2", seed=2))
        registry.set_alias("champion", 2, actor="alice", reason="bootstrap")
    return registry_root


def test_list_json(root: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "list", "--registry", str(root), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [(v["version"], v["aliases"]) for v in listed] == [(1, []), (2, ["champion"])]
    assert listed[0]["created_at"] == "2026-12-03T12:01:00Z"


def test_list_reads_the_registry_from_the_environment(root: Path) -> None:
    result = CliRunner().invoke(
        cli, ["models", "list"], env={"EDGEWARD_CONTROL__REGISTRY_DIR": str(root)}
    )
    assert result.exit_code == 0, result.output
    assert "kpi-forecaster" in result.output
    assert "champion" in result.output


def test_show_json_has_the_manifest(root: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "show", "2", "--registry", str(root), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["version"]["aliases"] == ["champion"]
    assert shown["manifest"]["lineage"]["run_id"] == "run-2"
    assert shown["manifest"]["metrics"]["per_site"]["paris-3"]["champion"]["mae"] == 2.5


def test_show_prints_spec_lineage_and_a_row_per_site(root: Path) -> None:
    result = CliRunner().invoke(
        cli, ["models", "show", "1", "--registry", str(root)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    for expected in ("Model spec", "Lineage", "run-1", "Metrics per site", "lyon-17", "paris-3"):
        assert expected in result.output
    assert "challenger.mae" in result.output


def test_show_refuses_tampered_weights_and_unknown_versions(root: Path) -> None:
    weights = root / "models" / "1" / WEIGHTS_FILE
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    result = CliRunner().invoke(cli, ["models", "show", "1", "--registry", str(root)])
    assert isinstance(result.exception, BundleCorrupt)
    result = CliRunner().invoke(cli, ["models", "show", "9", "--registry", str(root)])
    assert isinstance(result.exception, VersionNotFound)


def test_a_missing_registry_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "list", "--registry", str(tmp_path)])
    assert isinstance(result.exception, RegistryError)
    assert "no model registry" in str(result.exception)
