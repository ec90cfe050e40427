"""Start Flower's executables from this environment, whoever started us and with what PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def flower_executable(name: str) -> str:
    """Return the path of a Flower console script installed next to this Python."""
    return str(Path(sys.executable).parent / name)


def flower_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment whose PATH finds Flower's helper executables.

    Flower starts `flower-superexec`, `flwr-serverapp` and `flwr-clientapp` by name, so the
    virtual environment's bin folder must be on PATH even when we were started without it.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env
