"""Finding and ending what Flower detaches into sessions of its own."""

from __future__ import annotations

import subprocess
import sys
import time

from edgeward.flower_processes import detached_groups, kill_groups

# A parent that starts a grandchild in a new session (as Flower starts its SuperExec and
# apps), prints its pid, and waits.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         start_new_session=True)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_detached_grandchild_is_found_and_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        groups = detached_groups(parent.pid)
        assert groups == {child}, "the child leads its own session's group"
        parent.kill()
        parent.wait()
        kill_groups(groups)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait()


def test_a_process_without_children_has_no_detached_groups() -> None:
    lone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert detached_groups(lone.pid) == set()
    finally:
        lone.kill()
        lone.wait()


def _alive(pid: int) -> bool:
    """Return whether `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
