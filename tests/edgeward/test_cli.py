"""The `edgeward` command: help everywhere, versions, errors as one line with an exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edgeward import __version__
from edgeward.cli.main import cli


def all_command_paths() -> list[list[str]]:
    """Walk the command tree, importing every lazy group."""
    paths: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        paths.append(path)
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{' '.join([*path, name])} does not load"
                walk(sub, [*path, name])

    walk(cli, [])
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "edgeward")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def command_at(path: list[str]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "edgeward")
def test_bracketed_words_in_help_survive_rich_markup(path: list[str]) -> None:
    # Rich reads "[control]" as markup and silently drops it unless it is escaped.
    words = [
        word.replace("\\[", "[")
        for param in command_at(path).params
        for word in (getattr(param, "help", None) or "").split()
        if "[" in word
    ]
    output = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200).output
    for word in words:
        assert word.rstrip(".,;)").lstrip("(") in output, f"{word!r} lost from the help"


def test_version() -> None:
    assert CliRunner().invoke(cli, ["version"]).output.strip() == f"edgeward {__version__}"
    as_json = CliRunner().invoke(cli, ["version", "--json"]).output
    assert json.loads(as_json) == {"version": __version__}


def edgeward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgeward", *args], capture_output=True, text=True, timeout=60
    )


def test_a_bad_setting_stops_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = edgeward(
        "agent", "run", "--site", "s1", "--data-dir", str(tmp_path), "--mqtt", "http://broker"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: setting 'mqtt.url' (from command line): must start with mqtt:// or mqtts:// "
        "(got 'http://broker')"
    ]


def test_status_of_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    result = edgeward("agent", "status", "--data-dir", str(tmp_path / "none"), "--json")
    assert result.returncode == 4
    assert result.stderr.startswith("error: no agent store in")
    assert "Traceback" not in result.stderr


def test_replay_then_status_as_json(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("ts,source,cpu_pct\n1,cell-1,10\n61,cell-1,11\n121,cell-1,oops\n")
    data = tmp_path / "agent"
    replay = edgeward(
        "agent", "replay", str(trace), "--site", "s1", "--data-dir", str(data), "--json"
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["records"] == 2
    status = edgeward("agent", "status", "--data-dir", str(data), "--json")
    report = json.loads(status.stdout)
    assert report["records_stored"] == 2
    assert report["quarantined_by_reason"] == {"wrong_type": 1}
    assert [s["source"] for s in report["sources"]] == ["cell-1"]
    human = edgeward("agent", "status", "--data-dir", str(data))
    assert "wrong_type" in human.stdout


def test_settings_show_each_key_with_its_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["agent", "settings", "--site", "s1", "--data-dir", str(tmp_path), "--json"]
    )
    values = json.loads(result.output)
    assert values["site"] == "s1"
    text = CliRunner(env={"COLUMNS": "200"}).invoke(
        cli, ["agent", "settings", "--site", "s1", "--data-dir", "/x"]
    )
    assert "EDGEWARD_AGENT__MQTT__URL" in text.output
