"""Rich tables for model manifests, whose spec, lineage and metrics are free-form JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.table import Table

PER_SITE_KEY = "per_site"


def key_value_table(title: str, document: Mapping[str, Any]) -> Table:
    """Return a two-column table of `document`, nested keys joined with dots."""
    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    rows = flatten(document)
    for key, value in rows:
        table.add_row(key, _cell(value))
    if not rows:
        table.add_row("-", "(empty)")
    return table


def site_metrics_table(metrics: Mapping[str, Any]) -> Table:
    """Return one row per site and one column per metric, if metrics are grouped by site.

    Sites are read from `metrics["per_site"]` when present, else from `metrics` itself when
    every value is an object; anything else is shown as key/value rows.
    """
    per_site = metrics.get(PER_SITE_KEY, metrics)
    if (
        not isinstance(per_site, Mapping)
        or not per_site
        or not all(isinstance(value, Mapping) for value in per_site.values())
    ):
        return key_value_table("Metrics", metrics)
    columns: list[str] = []
    cells: dict[str, dict[str, Any]] = {}
    for site, values in per_site.items():
        cells[site] = dict(flatten(values))
        columns.extend(key for key in cells[site] if key not in columns)
    table = Table(title="Metrics per site")
    table.add_column("site", style="bold")
    for column in columns:
        table.add_column(column, justify="right")
    for site, row in cells.items():
        table.add_row(site, *(_cell(row[c]) if c in row else "" for c in columns))
    return table


def flatten(document: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Return `(dotted.key, leaf)` pairs of nested mappings, in insertion order."""
    pairs: list[tuple[str, Any]] = []
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            pairs.extend(flatten(value, f"{name}."))
        else:
            pairs.append((name, value))
    return pairs


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value)
