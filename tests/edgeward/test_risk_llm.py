"""The LLM risk layer with the real default GGUF (Gemma 3 270M) through llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeward.cli.risk import app
from edgeward.risk.cases import LABELLED_CASES, load_cases, split_cases
from edgeward.risk.decision import RISK_LEVELS
from edgeward.risk.llm import (
    LlmHeadMissing,
    LlmScreener,
    LlmSettings,
    ModelFileMissing,
    tune,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small cases file that still has train and test cases of several levels."""
    train, test = split_cases(load_cases(LABELLED_CASES))
    chosen = [*train[::8], *test[::10]]
    lines = [line for line in LABELLED_CASES.read_text().splitlines() if line.strip()]
    ids = {case.decision.id for case in chosen}
    path = tmp_path_factory.mktemp("cases") / "tiny.jsonl"
    path.write_text(
        "\n".join(line for line in lines if json.loads(line)["decision"]["id"] in ids) + "\n"
    )
    return path


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LlmSettings:
    return LlmSettings(cache_dir=tmp_path_factory.mktemp("risk-cache"), n_threads=2)


@pytest.fixture(scope="module")
def screener(settings: LlmSettings, tiny_cases: Path) -> LlmScreener:
    report = tune(settings, cases_path=tiny_cases, max_epochs=20)
    assert report.head_path.is_file()
    assert report.before is None
    assert set(report.after) == {"accuracy", "macro_f1", "recall_high_critical"}
    return LlmScreener.load(settings)


def test_tuned_screener_assesses_a_decision(screener: LlmScreener) -> None:
    decision = load_cases(LABELLED_CASES)[0].decision
    verdict = screener.assess(decision)
    assert verdict.level in RISK_LEVELS
    assert set(verdict.probabilities) == set(RISK_LEVELS)
    assert sum(verdict.probabilities.values()) == pytest.approx(1.0)
    assert verdict.latency_s > 0


def test_tuning_again_reports_the_previous_head(
    screener: LlmScreener, settings: LlmSettings, tiny_cases: Path
) -> None:
    report = tune(settings, cases_path=tiny_cases, max_epochs=5)
    assert report.before is not None


def test_missing_head_names_the_tune_command(tmp_path: Path) -> None:
    with pytest.raises(LlmHeadMissing, match="edgeward risk tune"):
        LlmScreener.load(LlmSettings(cache_dir=tmp_path))


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelFileMissing, match=r"nope\.gguf does not exist"):
        LlmScreener.load(LlmSettings(model_path=missing, cache_dir=tmp_path))


def test_rationale_is_one_short_sentence(screener: LlmScreener) -> None:
    decision = load_cases(LABELLED_CASES)[1].decision
    sentence = screener.rationale(decision, "high", ["the target is protected"])
    assert sentence.strip()
    assert len(sentence) <= 240
    assert "\n" not in sentence


def test_cli_eval_json_prints_the_metrics(
    screener: LlmScreener, settings: LlmSettings, tiny_cases: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "--cases", str(tiny_cases), "--cache-dir", str(settings.cache_dir), "--json"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "accuracy",
        "macro_f1",
        "recall_high_critical",
        "latency_p50_s",
        "majority_baseline_accuracy",
    ):
        assert key in metrics
