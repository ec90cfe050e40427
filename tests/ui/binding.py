"""Hands the test's operations to the dashboard main file that NiceGUI's fixture runs."""

from __future__ import annotations

from control_plane.operations import Operations

_current: list[Operations] = []


def use_operations(operations: Operations) -> None:
    """Make `operations` the ones the next dashboard run serves."""
    _current[:] = [operations]


def current_operations() -> Operations:
    """Return the operations set by the running test."""
    return _current[0]
