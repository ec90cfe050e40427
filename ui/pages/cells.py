"""Tables drawn as grids of labels: every cell is text a person (and the tests) can read.

NiceGUI's `ui.table` renders its rows in the browser, where neither a screen reader's
text search nor the simulated user of the tests sees them; these grids are plain labels.
A cell is a string, or a function that draws the cell (for buttons in a row).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from nicegui import ui

Cell = str | Callable[[], None]


def cells(columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, mark: str = "") -> ui.grid:
    """Draw `rows` under the `columns` headings as a grid; return it."""
    grid = ui.grid(columns=len(columns)).classes("w-full gap-x-4 gap-y-1 items-center")
    if mark:
        grid.mark(mark)
    with grid:
        for column in columns:
            ui.label(column).classes("text-sm font-semibold text-gray-500")
        for row in rows:
            for cell in row:
                if isinstance(cell, str):
                    ui.label(cell).classes("text-sm break-words")
                else:
                    with ui.row().classes("gap-1"):
                        cell()
    return grid
