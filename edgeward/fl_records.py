"""Typed access to Flower records, and weights to and from ArrayRecords.

Flower's RecordDict hands back a union of record types and ConfigRecord values of many types;
these helpers check what arrived and say clearly when a message is not what the protocol says.
Only the roles that run Flower (agent, aggregator) import this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord

from edgeward.errors import EdgewardError

Arrays = dict[str, npt.NDArray[Any]]
R = TypeVar("R", ConfigRecord, MetricRecord, ArrayRecord)


class ProtocolError(EdgewardError):
    """A Flower message lacks a record or a value the protocol requires."""


def config_record(message: Message, key: str) -> ConfigRecord:
    """Return the ConfigRecord `key` of a message."""
    return _record(message, key, ConfigRecord)


def metric_record(message: Message, key: str) -> MetricRecord:
    """Return the MetricRecord `key` of a message."""
    return _record(message, key, MetricRecord)


def array_record(message: Message, key: str) -> ArrayRecord:
    """Return the ArrayRecord `key` of a message."""
    return _record(message, key, ArrayRecord)


def _record(message: Message, key: str, kind: type[R]) -> R:
    if key not in message.content:
        raise ProtocolError(f"the {message.metadata.message_type} message has no '{key}' record")
    record = message.content[key]
    if not isinstance(record, kind):
        raise ProtocolError(f"record '{key}' is a {type(record).__name__}, not {kind.__name__}")
    return record


def number(config: Mapping[str, Any], key: str, default: float | None = None) -> float:
    """Return a numeric config value (ints and floats alike)."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"config '{key}' must be a number, got {value!r}")
    return float(value)


def text(config: Mapping[str, Any], key: str) -> str:
    """Return a string config value."""
    value = config.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"config '{key}' must be text, got {value!r}")
    return value


def texts(config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """Return a list-of-strings config value as a tuple."""
    value = config.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"config '{key}' must be a list of text, got {value!r}")
    return tuple(value)


def metrics(values: Mapping[str, float]) -> MetricRecord:
    """Build a MetricRecord from plain floats."""
    return MetricRecord(dict(values.items()))


def to_record(arrays: Arrays) -> ArrayRecord:
    """Put named weights into an ArrayRecord, keeping their names."""
    return ArrayRecord(
        {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
    )


def from_record(record: ArrayRecord) -> Arrays:
    """Read named weights back from an ArrayRecord."""
    return {name: tensor.numpy() for name, tensor in record.to_torch_state_dict().items()}
