"""The model zoo: forecasters, federated feature stats, windows, training and evaluation.

Pure torch and numpy, no Flower: the ClientApp and ServerApp adapt these calls to messages.
"""

from edgeward.models.detection import auroc, best_f1
from edgeward.models.errors import ModelError
from edgeward.models.evaluation import Evaluation, evaluate_model
from edgeward.models.inference import anomaly_scores, predict, residuals, smooth_scores
from edgeward.models.networks import build_model
from edgeward.models.simulated import anomaly_intervals, series_from_simulation
from edgeward.models.spec import MODEL_KINDS, ModelKind, ModelSpec
from edgeward.models.stats import FeatureStats
from edgeward.models.training import TrainConfig, TrainReport, train_model
from edgeward.models.weights import load_arrays, model_from_arrays, state_to_arrays
from edgeward.models.windows import (
    FeatureSeries,
    WindowSet,
    label_windows,
    make_windows,
    split_by_time,
)

__all__ = [
    "MODEL_KINDS",
    "Evaluation",
    "FeatureSeries",
    "FeatureStats",
    "ModelError",
    "ModelKind",
    "ModelSpec",
    "TrainConfig",
    "TrainReport",
    "WindowSet",
    "anomaly_intervals",
    "anomaly_scores",
    "auroc",
    "best_f1",
    "build_model",
    "evaluate_model",
    "label_windows",
    "load_arrays",
    "make_windows",
    "model_from_arrays",
    "predict",
    "residuals",
    "series_from_simulation",
    "smooth_scores",
    "split_by_time",
    "state_to_arrays",
    "train_model",
]
