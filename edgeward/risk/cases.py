"""The labelled decisions: what an operator would call each one, and a fixed train/test split.

The set ships with the package (`labelled_cases.jsonl`, also reachable as
`tests/data/risk_cases.jsonl`); operators' verdicts on held decisions are added to it as they
come (see `edgeward risk tune`). Each line is `{"decision": {...}, "label": "high",
"why": "..."}`. The split is stratified by label and keyed on each case's id, so it is the same
on every machine and a case never moves between train and test when others are added.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from edgeward.risk.decision import RISK_LEVELS, Decision, DecisionError, RiskLevel, parse_decision

LABELLED_CASES: Final = Path(__file__).with_name("labelled_cases.jsonl")
TEST_SHARE: Final = 0.3


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelledCase:
    """A decision and the risk level an operator gives it."""

    decision: Decision
    label: RiskLevel
    why: str = ""


def load_cases(path: Path = LABELLED_CASES) -> list[LabelledCase]:
    """Return every case in the JSON-lines file at `path`; raise `DecisionError` on a bad line."""
    cases: list[LabelledCase] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = _case(json.loads(line))
            if case.decision.id in seen:
                raise DecisionError(f"the id {case.decision.id!r} is used twice")
        except (ValueError, DecisionError) as err:
            raise DecisionError(f"{path.name} line {number}: {err}") from err
        seen.add(case.decision.id)
        cases.append(case)
    return cases


def _case(row: object) -> LabelledCase:
    if not isinstance(row, dict):
        raise DecisionError("a case is a JSON object")
    decision = row.get("decision")
    if not isinstance(decision, dict) or not decision.get("id"):
        # The split is keyed on the id: a generated one would move the case on every load.
        raise DecisionError("a labelled decision needs its own id")
    label = row.get("label")
    if label not in RISK_LEVELS:
        raise DecisionError(f"label must be one of {', '.join(RISK_LEVELS)}, not {label!r}")
    return LabelledCase(
        decision=parse_decision(decision),
        label=cast(RiskLevel, label),
        why=str(row.get("why", "")),
    )


def in_test_split(case: LabelledCase) -> bool:
    """Return whether the case belongs to the test split (about `TEST_SHARE` of each label)."""
    digest = hashlib.sha256(f"{case.label}:{case.decision.id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < TEST_SHARE


def split_cases(
    cases: Iterable[LabelledCase],
) -> tuple[Sequence[LabelledCase], Sequence[LabelledCase]]:
    """Return (train, test): the fixed split every tuning and evaluation uses."""
    train: list[LabelledCase] = []
    test: list[LabelledCase] = []
    for case in cases:
        (test if in_test_split(case) else train).append(case)
    return train, test
