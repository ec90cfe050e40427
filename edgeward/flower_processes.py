"""Start Flower's executables from this environment, whoever started us and with what PATH."""

from __future__ import annotations

import contextlib
import os
import signal
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


def detached_groups(pid: int) -> set[int]:
    """Return the process groups that descendants of `pid` moved into, apart from its own.

    Flower detaches what it starts (the SuperLink its SuperExec, which starts the ServerApps;
    the SuperNode its ClientApps) into sessions of their own, so signalling the parent or its
    group does not reach them, and a ServerApp whose SuperExec died was seen running for
    minutes after. Read from /proc; empty where there is none.
    """
    children: dict[int, list[int]] = {}
    groups: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name, in parentheses, may hold spaces: split after its last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        child, parent, group = int(stat.parent.name), int(fields[1]), int(fields[2])
        children.setdefault(parent, []).append(child)
        groups[child] = group
    own = groups.get(pid)
    found: set[int] = set()
    pending = list(children.get(pid, []))
    while pending:
        current = pending.pop()
        if groups.get(current) not in (None, own):
            found.add(groups[current])
        pending.extend(children.get(current, []))
    return found


def kill_groups(groups: set[int]) -> None:
    """SIGKILL every process in `groups` (those already gone are skipped)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
