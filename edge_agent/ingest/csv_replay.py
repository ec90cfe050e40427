"""Replay recorded traces from CSV: one row per reading, one column per metric.

The header names the columns: `ts` (ISO-8601 or epoch seconds) and `source` are required,
`label.<name>` columns become labels, every other column is a metric (an empty cell means the
metric was not measured). By default timestamps are rebased so the trace reads as live data:
paced replay (`speed > 0`) stamps each row with the replay clock; unpaced replay shifts the
whole trace so that its last row is now. Rows that do not fit the header are quarantined.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_agent.ingest.text_values import EMPTY_VALUES, parse_number
from edgeward.errors import EdgewardError
from edgeward.records import Candidate, QuarantineReason, Rejection

LABEL_PREFIX = "label."
REQUIRED_COLUMNS = ("ts", "source")


class CsvFormatError(EdgewardError):
    """The file is not a usable trace (no header, missing required columns)."""


@dataclass(kw_only=True, slots=True, frozen=True)
class CsvRow:
    """One decoded row: its original timestamp in seconds (if readable) and its entry."""

    ts_s: float | None
    entry: Candidate | Rejection


def read_trace(path: Path) -> Iterator[CsvRow]:
    """Decode `path` row by row; raise `CsvFormatError` if the header is unusable."""
    try:
        handle = path.open(newline="", encoding="utf-8", errors="surrogateescape")
    except OSError as err:
        raise CsvFormatError(f"cannot read {path}: {err}") from err
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise CsvFormatError(f"{path} is empty; expected a header row") from None
        except csv.Error as err:
            raise CsvFormatError(f"{path}: the header does not parse: {err}") from err
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise CsvFormatError(f"{path}: the header lacks column(s) {', '.join(missing)}")
        origin = f"csv:{path.name}"
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                yield CsvRow(ts_s=None, entry=_reject(f"{origin}:{reader.line_num}", [], str(err)))
                continue
            yield _decode_row(header, row, f"{origin}:{reader.line_num}")


def _decode_row(header: list[str], row: list[str], origin: str) -> CsvRow:
    if len(row) != len(header):
        detail = f"{len(row)} fields for {len(header)} columns"
        return CsvRow(ts_s=None, entry=_reject(origin, row, detail))
    fields = dict(zip(header, row, strict=True))
    metrics: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for name, text in fields.items():
        if name in REQUIRED_COLUMNS or text.strip() in EMPTY_VALUES:
            continue
        if name.startswith(LABEL_PREFIX):
            labels[name.removeprefix(LABEL_PREFIX)] = text
        else:
            metrics[name] = parse_number(text.strip())
    candidate = Candidate(
        origin=origin,
        source=fields["source"],
        ts=_timestamp(fields["ts"]),
        metrics=metrics,
        labels=labels or None,
    )
    ts = candidate.ts
    return CsvRow(ts_s=float(ts) if isinstance(ts, float) else None, entry=candidate)


def _timestamp(text: str) -> float | str:
    """Read epoch seconds or ISO-8601 into seconds; keep anything else for the validator."""
    text = text.strip()
    try:
        value = float(text)
        return value if math.isfinite(value) else text
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return parsed.timestamp() if parsed.tzinfo is not None else text


def _reject(origin: str, row: list[str], detail: str) -> Rejection:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    raw = buffer.getvalue().encode("utf-8", "surrogateescape")
    return Rejection(origin=origin, raw=raw, reason=QuarantineReason.BAD_CSV_ROW, detail=detail)


def rebase(row: CsvRow, offset_s: float) -> CsvRow:
    """Shift a row's timestamp by `offset_s` seconds (rows without a readable one stay)."""
    if row.ts_s is None or not isinstance(row.entry, Candidate):
        return row
    entry = row.entry
    shifted = Candidate(
        origin=entry.origin,
        source=entry.source,
        ts=row.ts_s + offset_s,
        metrics=entry.metrics,
        labels=entry.labels,
    )
    return CsvRow(ts_s=row.ts_s + offset_s, entry=shifted)
