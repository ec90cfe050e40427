"""Measure a model's LLM layer on the fixed test split, the way the screen will run it.

Each test decision goes through `LlmScreener.assess` (a fresh embedding, no cache), so the
latencies are the ones a device will see.
"""

from __future__ import annotations

from pathlib import Path

from edgeward.risk.cases import LABELLED_CASES
from edgeward.risk.llm.errors import LlmHeadMissing
from edgeward.risk.llm.model_file import identify_model, resolve_model_path
from edgeward.risk.llm.screener import LlmScreener, load_tuned_head
from edgeward.risk.llm.settings import LlmSettings
from edgeward.risk.llm.tuning import ProgressCallback, TuneReport, read_split, tune
from edgeward.risk.metrics import majority_baseline_accuracy, screen_metrics


def ensure_head(
    settings: LlmSettings,
    *,
    cases_path: Path = LABELLED_CASES,
    max_epochs: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> TuneReport | None:
    """Tune a head for the configured model unless one exists; return the report if tuned."""
    model = identify_model(resolve_model_path(settings.model_path))
    try:
        load_tuned_head(settings, model)
    except LlmHeadMissing:
        return tune(settings, cases_path=cases_path, max_epochs=max_epochs, on_progress=on_progress)
    return None


def evaluate(
    settings: LlmSettings,
    *,
    cases_path: Path = LABELLED_CASES,
    on_progress: ProgressCallback | None = None,
) -> dict[str, object]:
    """Return test-split metrics, latency and the majority baseline for the model's head."""
    train, test = read_split(cases_path)
    screener = LlmScreener.load(settings)
    predicted = []
    latencies = []
    for done, case in enumerate(test, start=1):
        verdict = screener.assess(case.decision)
        predicted.append(verdict.level)
        latencies.append(verdict.latency_s)
        if on_progress is not None:
            on_progress(done, len(test))
    truth = [case.label for case in test]
    return {
        **screen_metrics(truth, predicted, latencies),
        "majority_baseline_accuracy": majority_baseline_accuracy(
            [case.label for case in train], truth
        ),
        "n_train": len(train),
        "n_test": len(test),
        "model_key": screener.model.key,
        "route": screener.head.route,
    }
