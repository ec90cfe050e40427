"""The progress display every long-running command shares."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def count_progress(label: str, *, console: Console, disable: bool = False) -> Progress:
    """Return a bar counting items done (of a total, when known) with the elapsed time."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )
