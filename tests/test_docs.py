"""The docs say what the code does: CLI pages match the command tree, links resolve,
example settings load, and the security page's permission table is the real one."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from control_plane.access import PERMISSIONS, Permission, Role

REPO = Path(__file__).resolve().parent.parent
CLI_DOCS = REPO / "docs" / "cli"
DEPLOY = REPO / "deploy"
HEADING = re.compile(r"^## `edgeward ([a-z0-9 -]+)`$", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MENTION = re.compile(r"\bedgeward ((?:[a-z][a-z0-9-]*)(?: [a-z][a-z0-9-]*)*)")


def _load_cli_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_docs", REPO / "scripts" / "cli_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cli_docs"] = module
    spec.loader.exec_module(module)
    return module


cli_docs = _load_cli_docs()
COMMANDS = {documented.name: documented for documented in cli_docs.leaf_commands()}
GROUPS = cli_docs.top_level_groups()


def _sections(page: Path) -> dict[str, str]:
    """Return each `## edgeward ...` section of a page by command name."""
    text = page.read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    ends = [m.start() for m in matches[1:]] + [len(text)]
    return {m.group(1): text[m.end() : end] for m, end in zip(matches, ends, strict=True)}


def _documented() -> dict[str, tuple[Path, str]]:
    found: dict[str, tuple[Path, str]] = {}
    for page in sorted(CLI_DOCS.glob("*.md")):
        for name, section in _sections(page).items():
            assert name not in found, f"`edgeward {name}` is documented twice"
            found[name] = (page, section)
    return found


def test_every_group_has_a_page_and_every_page_a_group() -> None:
    pages = {page.stem for page in CLI_DOCS.glob("*.md")} - {"index"}
    assert pages == set(GROUPS), "run .venv/bin/python scripts/cli_docs.py"


def test_every_command_is_documented_on_its_groups_page() -> None:
    documented = _documented()
    missing = sorted(set(COMMANDS) - set(documented))
    assert not missing, f"commands without docs (run scripts/cli_docs.py): {missing}"
    for name, (page, _) in documented.items():
        assert name in COMMANDS, f"{page.name} documents `edgeward {name}`, which does not exist"
        assert page.name == cli_docs.page_for(COMMANDS[name])


def test_every_option_of_a_command_is_on_its_page() -> None:
    documented = _documented()
    for name, command in COMMANDS.items():
        section = documented[name][1]
        for flag in cli_docs.option_flags(command):
            assert flag in section, f"`edgeward {name}` has {flag}, its page does not say so"


def test_every_command_has_an_example() -> None:
    assert set(cli_docs.EXAMPLES) == set(COMMANDS)
    for name, example in cli_docs.EXAMPLES.items():
        assert example.startswith(f"edgeward {name}"), example


def _resolves(words: list[str]) -> bool:
    """Return whether `edgeward <words...>` starts with a real command or group."""
    for length in range(len(words), 0, -1):
        prefix = " ".join(words[:length])
        if prefix in COMMANDS or any(name.startswith(prefix + " ") for name in COMMANDS):
            return True
    return False


def _code(text: str) -> str:
    """Return the inline code spans and fenced blocks of a Markdown text."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return "\n".join([*fenced, *inline])


def _markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_commands_named_in_docs_exist(path: Path) -> None:
    for match in MENTION.finditer(_code(path.read_text(encoding="utf-8"))):
        words = match.group(1).split()
        if words[0] not in GROUPS and words[0] != "version":
            continue  # `edgeward ...` in a path, a package name or prose
        assert _resolves(words), f"{path.name} names `edgeward {match.group(1)}`"


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_to_existing_files(path: Path) -> None:
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        file_part = target.split("#", 1)[0]
        assert (path.parent / file_part).exists(), f"{path.name} links to missing {target}"


def _settings_loaders() -> dict[str, Callable[[Path], BaseModel]]:
    from aggregator.settings import load_aggregator_settings
    from control_plane.settings import load_control_settings
    from edge_agent.settings import load_agent_settings

    return {
        "agent.toml": load_agent_settings,
        "control.toml": load_control_settings,
        "aggregator.toml": load_aggregator_settings,
    }


def test_example_settings_load_with_every_key_known() -> None:
    examples = {path.name for path in (DEPLOY / "config").glob("*.toml")}
    loaders = _settings_loaders()
    assert examples == set(loaders)
    for name, load in loaders.items():
        load(DEPLOY / "config" / name)  # unknown keys and bad values raise SettingsError


@pytest.mark.parametrize(
    "unit", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name
)
def test_systemd_units_are_hardened_and_run_real_commands(unit: Path) -> None:
    lines = unit.read_text(encoding="utf-8").splitlines()
    settings = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if "=" in line}
    for key, value in {
        "User": "edgeward",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "Restart": "on-failure",
    }.items():
        assert settings.get(key) == value, f"{unit.name}: {key}={settings.get(key)}"
    assert settings["StateDirectory"].startswith("edgeward/")
    assert "EnvironmentFile" in settings
    words = settings["ExecStart"].split()
    assert words[0].endswith("/edgeward")
    command = " ".join(w for w in words[1:3] if not w.startswith("-"))
    assert command in COMMANDS, f"{unit.name} runs `edgeward {command}`"
    config = words[words.index("--config") + 1]
    assert (DEPLOY / "config" / Path(config).name).exists()


def test_security_page_permission_table_is_the_real_one() -> None:
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    rows = {
        match.group(1): [cell.strip() for cell in match.group(2).split("|")]
        for match in re.finditer(r"^\| `([a-z_]+)` \|(.*)\|$", text, flags=re.MULTILINE)
    }
    assert set(rows) == {permission.value for permission in Permission}
    roles = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
    for permission in Permission:
        cells = rows[permission.value][-3:]
        held = [cell == "yes" for cell in cells]
        assert held == [permission in PERMISSIONS[role] for role in roles], permission
