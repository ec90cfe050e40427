"""Tune the risk head for one model: featurise the train split, fit, save, score on test.

`tune` trains on the fixed train split (plus operators' verdicts, when given) and saves the
head under `<cache_dir>/heads/<model key>.safetensors`, outside the repository. It reports the
test-split metrics of the head it replaced (if any) and of the new one, so an operator sees
whether tuning helped. Embeddings come from the on-disk cache when the same model has already
read the same text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgeward.risk.cases import LABELLED_CASES, LabelledCase, load_cases, split_cases
from edgeward.risk.decision import RISK_LEVELS, DecisionError, RiskLevel
from edgeward.risk.llm.embedding_cache import EmbeddingCache
from edgeward.risk.llm.engine import LlamaEngine
from edgeward.risk.llm.errors import LlmHeadInvalid, TuningDataError
from edgeward.risk.llm.features import decision_text, structured_features
from edgeward.risk.llm.head import HeadConfig, Matrix, RiskHead, load_head, train_head
from edgeward.risk.llm.model_file import ModelIdentity, identify_model, resolve_model_path
from edgeward.risk.llm.settings import LlmSettings
from edgeward.risk.metrics import majority_baseline_accuracy, screen_metrics

logger = logging.getLogger(__name__)
ProgressCallback = Callable[[int, int], None]
"""Called with (texts done, texts in all) while embedding."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TuneReport:
    """What tuning did: where the head went and test-split metrics before and after."""

    model_key: str
    head_path: Path
    route: str
    n_train: int
    n_verdicts: int
    n_test: int
    majority_baseline_accuracy: float
    before: dict[str, float] | None
    after: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Return the report as JSON-ready data."""
        return {
            "model_key": self.model_key,
            "head_path": str(self.head_path),
            "route": self.route,
            "n_train": self.n_train,
            "n_verdicts": self.n_verdicts,
            "n_test": self.n_test,
            "majority_baseline_accuracy": self.majority_baseline_accuracy,
            "before": self.before,
            "after": self.after,
        }


def head_path(cache_dir: Path, model: ModelIdentity) -> Path:
    """Return where the tuned head for `model` lives."""
    return cache_dir / "heads" / f"{model.key}.safetensors"


class CaseFeaturizer:
    """Turn cases into (structured, embedding) matrices, loading the model only if needed."""

    def __init__(self, settings: LlmSettings, model: ModelIdentity) -> None:
        self.settings = settings
        self.model = model
        self.cache = EmbeddingCache(settings.cache_dir, model)
        self._engine: LlamaEngine | None = None

    def engine(self) -> LlamaEngine:
        """Return the loaded model, loading it on first use."""
        if self._engine is None:
            self._engine = LlamaEngine(
                self.model.path,
                n_threads=self.settings.n_threads,
                n_ctx=self.settings.n_ctx,
                extra_buffers=self.settings.extra_buffers,
            )
        return self._engine

    def features(
        self, cases: Sequence[LabelledCase], on_progress: ProgressCallback | None = None
    ) -> tuple[Matrix, Matrix]:
        """Return the structured features and embeddings of `cases`, one row each."""
        rows = []
        for done, case in enumerate(cases, start=1):
            text = decision_text(case.decision)
            embedding = self.cache.get(text)
            if embedding is None:
                embedding = self.engine().embed(text)
                self.cache.put(text, embedding)
            rows.append(embedding.astype(np.float64))
            if on_progress is not None:
                on_progress(done, len(cases))
        structured = np.array([structured_features(case.decision) for case in cases])
        return structured, np.array(rows)


def tune(
    settings: LlmSettings,
    *,
    cases_path: Path = LABELLED_CASES,
    verdicts_path: Path | None = None,
    config: HeadConfig | None = None,
    max_epochs: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> TuneReport:
    """Train and save the head for the configured model; return before/after test metrics."""
    config = config or HeadConfig()
    if max_epochs is not None:
        config = replace(config, max_epochs=max_epochs)
    model = identify_model(resolve_model_path(settings.model_path))
    train, test = read_split(cases_path)
    verdicts = _read_verdicts(verdicts_path, {case.decision.id for case in test})
    featurizer = CaseFeaturizer(settings, model)
    structured, embeddings = featurizer.features([*train, *verdicts, *test], on_progress)
    n_fit = len(train) + len(verdicts)
    labels = [case.label for case in (*train, *verdicts)]
    target = head_path(settings.cache_dir, model)
    before = _previous_metrics(target, structured[n_fit:], embeddings[n_fit:], test)
    head = train_head(
        structured[:n_fit], embeddings[:n_fit], labels, model_key=model.key, config=config
    )
    head.save(target)
    logger.info("saved the risk head for %s to %s", model.key, target)
    return TuneReport(
        model_key=model.key,
        head_path=target,
        route=config.route,
        n_train=len(train),
        n_verdicts=len(verdicts),
        n_test=len(test),
        majority_baseline_accuracy=majority_baseline_accuracy(
            [case.label for case in train], [case.label for case in test]
        ),
        before=before,
        after=_head_metrics(head, structured[n_fit:], embeddings[n_fit:], test),
    )


def read_split(cases_path: Path) -> tuple[Sequence[LabelledCase], Sequence[LabelledCase]]:
    """Return the (train, test) split of the cases at `cases_path`, refusing unusable sets."""
    try:
        train, test = split_cases(load_cases(cases_path))
    except FileNotFoundError as err:
        raise TuningDataError(f"the cases file {cases_path} does not exist") from err
    except DecisionError as err:
        raise TuningDataError(f"the cases file {cases_path} is invalid: {err}") from err
    if len(train) < 2 or not test:
        raise TuningDataError(
            f"{cases_path} splits into {len(train)} train and {len(test)} test cases; "
            "tuning needs at least 2 train cases and 1 test case"
        )
    return train, test


def predicted_levels(probabilities: Matrix) -> list[RiskLevel]:
    """Return the most probable level of each row."""
    return [RISK_LEVELS[int(index)] for index in probabilities.argmax(axis=1)]


def _read_verdicts(path: Path | None, test_ids: set[str]) -> list[LabelledCase]:
    if path is None:
        return []
    try:
        verdicts = load_cases(path)
    except FileNotFoundError as err:
        raise TuningDataError(f"the verdicts file {path} does not exist") from err
    except DecisionError as err:
        raise TuningDataError(f"the verdicts file {path} is invalid: {err}") from err
    kept = [case for case in verdicts if case.decision.id not in test_ids]
    if len(kept) < len(verdicts):
        logger.warning("ignored %d verdicts on test cases", len(verdicts) - len(kept))
    return kept


def _previous_metrics(
    path: Path, structured: Matrix, embeddings: Matrix, test: Sequence[LabelledCase]
) -> dict[str, float] | None:
    if not path.exists():
        return None
    try:
        previous = load_head(path)
        return _head_metrics(previous, structured, embeddings, test)
    except (LlmHeadInvalid, ValueError) as err:
        logger.warning("the previous head at %s could not be scored: %s", path, err)
        return None


def _head_metrics(
    head: RiskHead, structured: Matrix, embeddings: Matrix, test: Sequence[LabelledCase]
) -> dict[str, float]:
    predicted = predicted_levels(head.probabilities(structured, embeddings))
    return screen_metrics([case.label for case in test], predicted)
