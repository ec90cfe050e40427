"""`edgeward risk assess`: screen a file of decisions, one verdict per line out.

Input: JSON lines, one decision each (see docs/risk.md; `action`, `summary` and `context` are
enough). Output: one JSON object per line with the decision id, the final level and outcome,
each layer's level and reasons, and the latency. A line that is not a valid decision gets an
output line with its `error` (and the line number), never a crash and never a silent skip.
Decisions in one file are screened in order, so earlier ones count as recent actions for the
conflict and burst rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from edgeward.risk import DecisionError, parse_decision
from edgeward.risk.rules import RecentAction
from edgeward.risk.screening import LlmJudge, RiskScreener

InputOption = Annotated[
    Path, typer.Option("--input", "-i", help="Decisions, one JSON object per line.")
]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", help="Where to write one verdict per line.")
]


def assess_lines(lines: Iterator[str], screener: RiskScreener) -> Iterator[dict[str, Any]]:
    """Yield one verdict (or error) object per non-blank input line."""
    recent: list[RecentAction] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            decision = parse_decision(line)
        except DecisionError as err:
            yield {"line": number, "error": str(err)}
            continue
        screening = screener.screen(decision, recent)
        if screening.outcome.value in ("run", "run_and_notify"):
            recent.append(RecentAction(action=decision.action, target=decision.target))
        yield {"line": number, **screening.to_dict()}


def run_assess(
    source: Path, target: Path, llm: LlmJudge | None, timeout_s: float
) -> dict[str, int]:
    """Screen every decision in `source` into `target`; return counts by level and errors."""
    screener = RiskScreener(llm=llm, llm_timeout_s=timeout_s)
    counts: dict[str, int] = {}
    try:
        with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
            for verdict in assess_lines(lines, screener):
                key = "errors" if "error" in verdict else str(verdict["level"])
                counts[key] = counts.get(key, 0) + 1
                out.write(json.dumps(verdict) + "\n")
    finally:
        screener.close()
    return counts
