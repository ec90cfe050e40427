"""Every third-party module the packages import is declared in pyproject.toml.

A module that is only present because another package pulled it in (or because it was
installed by hand in a development environment) works until a fresh install; this catches it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edgeward", "edge_agent", "aggregator", "control_plane", "certs", "ui")
# Installed by scripts/setup.sh without its pins (see pyproject.toml's control extra).
INSTALLED_BY_SETUP = {"amqtt"}


def imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    names = {re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0] for requirement in requirements}
    return {_normalise(name) for name in names}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_third_party_module_is_declared() -> None:
    distributions = packages_distributions()
    declared = declared_distributions() | INSTALLED_BY_SETUP
    undeclared = {
        module: sorted(distributions.get(module, ["(not installed)"]))
        for module in sorted(imported_top_level_modules())
        if not {_normalise(d) for d in distributions.get(module, [module])} & declared
    }
    assert undeclared == {}, f"imported but not declared in pyproject.toml: {undeclared}"
