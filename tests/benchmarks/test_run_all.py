"""`make bench`'s collector: finding each script's JSON, naming nested figures, judging goals."""

from __future__ import annotations

import json

from benchmarks.run_all import flatten, last_json_object, render, verdict


def test_an_indented_object_after_log_lines_is_found_whole() -> None:
    printed = json.dumps(
        {"rules": {"accuracy": 0.7}, "goals": {"rules.accuracy": ">= 0.5"}}, indent=2
    )
    assert last_json_object(f"loading model...\n{{not json\n{printed}\n") == {
        "rules": {"accuracy": 0.7},
        "goals": {"rules.accuracy": ">= 0.5"},
    }


def test_no_object_is_none() -> None:
    assert last_json_object("Traceback (most recent call last):\n  boom\n") is None


def test_nested_figures_are_named_with_dots_but_goals_stay_whole() -> None:
    flat = flatten({"combined": {"recall": 1.0}, "goals": {"combined.recall": ">= 0.95"}, "n": 3})
    assert flat == {"combined.recall": 1.0, "goals": {"combined.recall": ">= 0.95"}, "n": 3}


def test_verdicts_and_a_goal_without_a_figure() -> None:
    assert verdict(0.96, ">= 0.95") == "met"
    assert verdict(7.0, "<= 1.5") == "**not met**"
    table = render({"risk": {"n": 3, "goals": {"combined.recall": ">= 0.95"}}})
    assert "| risk | combined.recall | (missing) | >= 0.95 | **no figure** |" in table
