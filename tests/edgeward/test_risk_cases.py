"""The labelled risk cases: they load, cover the catalogue and every level, and split stably."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from edgeward.risk.cases import LABELLED_CASES, LabelledCase, load_cases, split_cases
from edgeward.risk.decision import RISK_LEVELS, Action, DecisionError

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA_LINK = ROOT / "tests" / "data" / "risk_cases.jsonl"

GOOD_LINE = json.dumps(
    {
        "decision": {
            "id": "t-1",
            "action": "sleep_cell",
            "context": {"hour": 2, "users_affected": 3},
            "summary": "Sleep cell-12 for 30 min: downlink load 4%, 3 users",
        },
        "label": "low",
        "why": "Three users at night.",
    }
)


@pytest.fixture(scope="module")
def cases() -> list[LabelledCase]:
    """Return the shipped labelled cases."""
    return load_cases()


def test_the_set_is_large_enough(cases: list[LabelledCase]) -> None:
    assert len(cases) >= 130


def test_every_action_appears_many_times(cases: list[LabelledCase]) -> None:
    per_action = Counter(case.decision.action for case in cases)
    assert set(per_action) == set(Action)
    assert min(per_action.values()) >= 10


def test_every_label_appears_for_several_actions(cases: list[LabelledCase]) -> None:
    actions_per_label: dict[str, set[Action]] = defaultdict(set)
    for case in cases:
        actions_per_label[case.label].add(case.decision.action)
    assert set(actions_per_label) == set(RISK_LEVELS)
    for label, actions in actions_per_label.items():
        assert len(actions) >= 4, f"{label} only labels {sorted(actions)}"


def test_no_label_dominates(cases: list[LabelledCase]) -> None:
    shares = {label: n / len(cases) for label, n in Counter(c.label for c in cases).items()}
    assert all(0.1 <= share <= 0.4 for share in shares.values()), shares


def test_ids_are_unique_and_explicit(cases: list[LabelledCase]) -> None:
    ids = [case.decision.id for case in cases]
    assert len(set(ids)) == len(ids)
    assert all(case_id.startswith("case-") for case_id in ids)


def test_every_case_says_why(cases: list[LabelledCase]) -> None:
    assert all(len(case.why) > 20 for case in cases)


def test_sparse_cases_are_included(cases: list[LabelledCase]) -> None:
    sparse = [c for c in cases if not c.decision.target and not c.decision.evidence]
    assert len(sparse) >= 10
    assert {c.label for c in sparse} == set(RISK_LEVELS)


def test_pipeline_decisions_carry_their_evaluation(cases: list[LabelledCase]) -> None:
    pipeline = [
        c for c in cases if c.decision.action in {Action.PROMOTE_MODEL, Action.ROLLBACK_MODEL}
    ]
    assert all(c.decision.context.sites_evaluated is not None for c in pipeline)


def test_both_splits_hold_every_label(cases: list[LabelledCase]) -> None:
    train, test = split_cases(cases)
    assert {c.label for c in train} == set(RISK_LEVELS)
    assert {c.label for c in test} == set(RISK_LEVELS)
    assert len(train) + len(test) == len(cases)


def test_split_is_the_same_on_every_load() -> None:
    first = [c.decision.id for c in split_cases(load_cases())[1]]
    second = [c.decision.id for c in split_cases(load_cases())[1]]
    assert first == second


def test_test_data_name_is_a_relative_symlink_to_the_same_file() -> None:
    assert TEST_DATA_LINK.is_symlink()
    assert not os.path.isabs(os.readlink(TEST_DATA_LINK))
    assert TEST_DATA_LINK.resolve() == LABELLED_CASES.resolve()
    assert TEST_DATA_LINK.read_bytes() == LABELLED_CASES.read_bytes()
    assert len(load_cases(TEST_DATA_LINK)) == len(load_cases())


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("{not json", "line 3"),
        (GOOD_LINE.replace('"low"', '"severe"'), "line 3: label must be one of"),
        (GOOD_LINE.replace("sleep_cell", "reboot_everything"), "line 3: action"),
        (GOOD_LINE.replace('"hour": 2', '"hour": 25'), "line 3: context.hour"),
        ("[1, 2]", "line 3: a case is a JSON object"),
    ],
)
def test_a_bad_line_is_named_by_number(tmp_path: Path, bad_line: str, reason: str) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD_LINE}\n\n{bad_line}\n{GOOD_LINE}\n", encoding="utf-8")
    with pytest.raises(DecisionError, match=f"cases.jsonl {reason}"):
        load_cases(path)


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    other = GOOD_LINE.replace('"t-1"', '"t-2"')
    path.write_text(f"\n{GOOD_LINE}\n   \n{other}\n", encoding="utf-8")
    assert [c.label for c in load_cases(path)] == ["low", "low"]


def test_a_case_needs_its_own_id_used_once(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD_LINE}\n{GOOD_LINE}\n", encoding="utf-8")
    with pytest.raises(DecisionError, match="line 2: the id 't-1' is used twice"):
        load_cases(path)
    path.write_text(GOOD_LINE.replace('"id": "t-1", ', ""), encoding="utf-8")
    with pytest.raises(DecisionError, match="line 1: a labelled decision needs its own id"):
        load_cases(path)
