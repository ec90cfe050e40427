"""Per-feature normalisation statistics that sites can combine without sharing data.

A site computes `FeatureStats` over its own readings (count, sum and sum of squares of each
feature, missing values skipped) and sends only those; the server adds them up (`merge`), so
every site then normalises with the same fleet-wide mean and standard deviation. This is the
federated feature normalisation: the stats are additive, so the merge of the parts equals the
stats of the whole, whatever the split.

Wire form (`to_dict`): a flat dict of floats, three keys per feature,
`count/<feature>`, `sum/<feature>` and `sum_sq/<feature>`. It fits a Flower MetricRecord or
ConfigRecord as is and does not depend on key order (protobuf maps do not keep it). Every value
is additive: combine sites by adding values key by key (or `merge`), never by averaging them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from edgeward.models.errors import ModelError

MIN_STD: Final = 1e-6
_PARTS: Final = ("count", "sum", "sum_sq")


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class FeatureStats:
    """Count, sum and sum of squares of each feature, as float64 arrays in `features` order."""

    features: tuple[str, ...]
    count: np.ndarray
    sum: np.ndarray
    sum_sq: np.ndarray

    def __post_init__(self) -> None:
        width = len(self.features)
        if width == 0 or len(set(self.features)) != width:
            raise ModelError("feature stats: features must be distinct names, at least one")
        for part in _PARTS:
            array = getattr(self, part)
            if not isinstance(array, np.ndarray) or array.shape != (width,):
                raise ModelError(f"feature stats: {part} must be an array of {width} values")
            if not np.all(np.isfinite(array)):
                raise ModelError(f"feature stats: {part} must be finite")
        if np.any(self.count < 0) or np.any(self.sum_sq < 0):
            raise ModelError("feature stats: count and sum_sq must not be negative")

    @classmethod
    def compute(cls, features: Sequence[str], values: np.ndarray) -> FeatureStats:
        """Return the stats of `values` (steps, features), skipping NaN entries."""
        data = np.asarray(values, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != len(features):
            raise ModelError(
                f"feature stats: expected values of shape (steps, {len(features)}), "
                f"got {data.shape}"
            )
        if np.any(np.isinf(data)):
            raise ModelError("feature stats: values must be finite or NaN")
        present = ~np.isnan(data)
        clean = np.where(present, data, 0.0)
        return cls(
            features=tuple(features),
            count=present.sum(axis=0).astype(np.float64),
            sum=clean.sum(axis=0),
            sum_sq=(clean * clean).sum(axis=0),
        )

    @classmethod
    def empty(cls, features: Sequence[str]) -> FeatureStats:
        """Return stats with nothing counted yet (the identity of `merge`)."""
        zeros = np.zeros(len(features))
        return cls(features=tuple(features), count=zeros, sum=zeros.copy(), sum_sq=zeros.copy())

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Return the stats of both data sets together; the features must be the same."""
        if other.features != self.features:
            raise ModelError(
                f"feature stats: cannot merge stats over {list(other.features)} into "
                f"stats over {list(self.features)}"
            )
        return FeatureStats(
            features=self.features,
            count=self.count + other.count,
            sum=self.sum + other.sum,
            sum_sq=self.sum_sq + other.sum_sq,
        )

    def select(self, features: Sequence[str]) -> FeatureStats:
        """Return the stats of `features` only, in that order."""
        missing = [name for name in features if name not in self.features]
        if missing:
            raise ModelError(f"feature stats: no stats for {', '.join(missing)}")
        index = [self.features.index(name) for name in features]
        return FeatureStats(
            features=tuple(features),
            count=self.count[index],
            sum=self.sum[index],
            sum_sq=self.sum_sq[index],
        )

    @property
    def mean(self) -> np.ndarray:
        """Return each feature's mean; 0 for a feature never observed."""
        mean: np.ndarray = np.divide(
            self.sum, self.count, out=np.zeros_like(self.sum), where=self.count > 0
        )
        return mean

    @property
    def std(self) -> np.ndarray:
        """Return each feature's population standard deviation, 1 where it is (nearly) constant.

        A feature whose spread is below `MIN_STD` (relative to its mean when the mean is above
        1, so that rounding in sum_sq / count - mean^2 does not count as spread) is constant:
        dividing by a tiny number would blow any later change up, so it gets 1 and is only
        centred. A feature never observed also gets 1.
        """
        mean = self.mean
        second = np.divide(
            self.sum_sq, self.count, out=np.zeros_like(self.sum_sq), where=self.count > 0
        )
        variance = np.maximum(second - mean * mean, 0.0)
        tolerance = MIN_STD * np.maximum(1.0, np.abs(mean))
        std = np.sqrt(variance)
        return np.where(std > tolerance, std, 1.0)

    def normalise(self, values: np.ndarray) -> np.ndarray:
        """Return `(values - mean) / std` feature by feature, as float64; NaN stays NaN."""
        normalised: np.ndarray = (np.asarray(values, dtype=np.float64) - self.mean) / self.std
        return normalised

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        """Return normalised `values` back in the metrics' own units."""
        raw: np.ndarray = np.asarray(values, dtype=np.float64) * self.std + self.mean
        return raw

    def to_dict(self) -> dict[str, float]:
        """Return the wire form: `{"count/<f>": ..., "sum/<f>": ..., "sum_sq/<f>": ...}`."""
        return {
            f"{part}/{name}": float(getattr(self, part)[index])
            for part in _PARTS
            for index, name in enumerate(self.features)
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, float], features: Sequence[str] | None = None
    ) -> FeatureStats:
        """Rebuild stats from `to_dict` output, for `features` (default: all, sorted by name)."""
        names = _names_in(data)
        wanted = tuple(features) if features is not None else tuple(sorted(names))
        columns: dict[str, list[float]] = {part: [] for part in _PARTS}
        for name in wanted:
            for part in _PARTS:
                key = f"{part}/{name}"
                if key not in data:
                    raise ModelError(f"feature stats: missing {key!r}")
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ModelError(f"feature stats: {key!r} must be a number")
                columns[part].append(float(value))
        return cls(
            features=wanted,
            **{part: np.array(column, dtype=np.float64) for part, column in columns.items()},
        )


def _names_in(data: Mapping[str, float]) -> set[str]:
    names: set[str] = set()
    for key in data:
        part, _, name = key.partition("/")
        if part not in _PARTS or not name:
            raise ModelError(f"feature stats: unexpected key {key!r}")
        names.add(name)
    return names
