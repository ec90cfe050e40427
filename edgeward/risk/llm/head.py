"""The risk head: class-weighted, L2-regularised softmax regression over decision features.

Inputs are a row of structured features, an LLM embedding, or both (the route). Embeddings are
centred and projected onto their top principal directions on the train split (a few hundred
dimensions against about a hundred cases would otherwise be memorised), then every input
column is standardised. Training is full-batch Adam in numpy: deterministic and a fraction of a
second. The head is saved as safetensors with its route and model key in the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from edgeward.risk.decision import RISK_LEVELS, RiskLevel
from edgeward.risk.llm.errors import LlmHeadInvalid

Route = Literal["structured", "embedding", "combined"]
ROUTES: Final[tuple[Route, ...]] = get_args(Route)
Matrix = npt.NDArray[np.float64]
HEAD_FORMAT: Final = "edgeward-risk-head/1"


@dataclass(frozen=True, kw_only=True, slots=True)
class HeadConfig:
    """How a head is trained; the defaults are the ones measured in docs/risk-llm.md."""

    route: Route = "combined"
    l2: float = 0.1
    embedding_components: int = 4
    embedding_weight: float = 0.1
    max_epochs: int = 400
    learning_rate: float = 0.05


@dataclass(frozen=True, kw_only=True, slots=True)
class RiskHead:
    """A trained head: feature preparation and softmax weights, for one model and route."""

    route: Route
    model_key: str
    embedding_mean: Matrix
    projection: Matrix
    feature_mean: Matrix
    feature_scale: Matrix
    weights: Matrix
    bias: Matrix

    def probabilities(self, structured: Matrix, embeddings: Matrix) -> Matrix:
        """Return one row of level probabilities (in `RISK_LEVELS` order) per case."""
        return _softmax(self._inputs(structured, embeddings) @ self.weights + self.bias)

    def _inputs(self, structured: Matrix, embeddings: Matrix) -> Matrix:
        return _standardise(
            _assemble(self.route, structured, embeddings, self.embedding_mean, self.projection),
            self.feature_mean,
            self.feature_scale,
        )

    def save(self, path: Path) -> None:
        """Write the head to `path` (safetensors) via a temporary file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        tensors = {
            name: np.ascontiguousarray(getattr(self, name))
            for name in ("embedding_mean", "projection", "feature_mean", "feature_scale")
        }
        tensors |= {"weights": self.weights, "bias": self.bias}
        metadata = {"format": HEAD_FORMAT, "route": self.route, "model_key": self.model_key}
        save_file(tensors, str(temporary), metadata=metadata)
        temporary.replace(path)


def load_head(path: Path) -> RiskHead:
    """Read a head saved by `RiskHead.save`; raise `LlmHeadInvalid` if it is not one."""
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as err:
        raise LlmHeadInvalid(f"the tuned head {path} cannot be read ({err}); tune again") from err
    if metadata.get("format") != HEAD_FORMAT or metadata.get("route") not in ROUTES:
        raise LlmHeadInvalid(f"{path} is not an Edgeward risk head; tune again")
    try:
        return RiskHead(
            route=cast(Route, metadata["route"]),
            model_key=metadata.get("model_key", ""),
            **{name: tensors[name].astype(np.float64) for name in _TENSOR_NAMES},
        )
    except KeyError as err:
        raise LlmHeadInvalid(f"the tuned head {path} lacks {err}; tune again") from err


_TENSOR_NAMES: Final = (
    "embedding_mean",
    "projection",
    "feature_mean",
    "feature_scale",
    "weights",
    "bias",
)


def train_head(
    structured: Matrix,
    embeddings: Matrix,
    labels: list[RiskLevel],
    *,
    model_key: str,
    config: HeadConfig | None = None,
) -> RiskHead:
    """Fit a head on the rows given (one per case) and return it."""
    config = config or HeadConfig()
    embedding_mean, projection = _principal_directions(embeddings, config.embedding_components)
    raw = _assemble(config.route, structured, embeddings, embedding_mean, projection)
    feature_mean = raw.mean(axis=0)
    feature_scale = raw.std(axis=0)
    feature_scale[feature_scale < 1e-9] = 1.0
    if config.route == "combined":
        # Principal components keep their standardised spread times the embedding weight.
        n_structured = structured.shape[1]
        feature_scale[n_structured:] /= config.embedding_weight
    inputs = _standardise(raw, feature_mean, feature_scale)
    targets = np.asarray([RISK_LEVELS.index(label) for label in labels])
    weights, bias = _fit_softmax(inputs, targets, config)
    return RiskHead(
        route=config.route,
        model_key=model_key,
        embedding_mean=embedding_mean,
        projection=projection,
        feature_mean=feature_mean,
        feature_scale=feature_scale,
        weights=weights,
        bias=bias,
    )


def _principal_directions(embeddings: Matrix, components: int) -> tuple[Matrix, Matrix]:
    """Return the embeddings' mean and their top principal directions (columns)."""
    mean = embeddings.mean(axis=0)
    k = max(1, min(components, embeddings.shape[0] - 1, embeddings.shape[1]))
    _, _, vt = np.linalg.svd(embeddings - mean, full_matrices=False)
    return mean, np.ascontiguousarray(vt[:k].T)


def _assemble(
    route: Route, structured: Matrix, embeddings: Matrix, mean: Matrix, projection: Matrix
) -> Matrix:
    if route == "structured":
        return structured
    projected = (embeddings - mean) @ projection
    return projected if route == "embedding" else np.hstack([structured, projected])


def _standardise(raw: Matrix, mean: Matrix, scale: Matrix) -> Matrix:
    return (raw - mean) / scale


def _fit_softmax(
    inputs: Matrix, targets: npt.NDArray[np.int64], config: HeadConfig
) -> tuple[Matrix, Matrix]:
    """Minimise class-weighted cross-entropy + L2 with full-batch Adam; return (W, b)."""
    n, d = inputs.shape
    classes = len(RISK_LEVELS)
    counts = np.bincount(targets, minlength=classes).astype(np.float64)
    class_weight = np.where(counts > 0, n / (classes * np.maximum(counts, 1.0)), 0.0)
    sample_weight = class_weight[targets] / n
    one_hot = np.eye(classes)[targets]
    params = [np.zeros((d, classes)), np.zeros(classes)]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    beta1, beta2 = 0.9, 0.999
    for step in range(1, config.max_epochs + 1):
        error = (_softmax(inputs @ params[0] + params[1]) - one_hot) * sample_weight[:, None]
        grads = [inputs.T @ error + config.l2 * params[0] / n, error.sum(axis=0)]
        for param, grad, (m, v) in zip(params, grads, moments, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad**2
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= config.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
    return params[0], params[1]


def _softmax(logits: Matrix) -> Matrix:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return cast(Matrix, exp / exp.sum(axis=-1, keepdims=True))
