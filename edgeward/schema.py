"""The versioned metric schema: what a valid record looks like, and its content hash.

The schema is a TOML file (see `edgeward/schemas/ran_kpi.toml` and docs/ingestion.md). Its
hash is computed over the validated content, not the file's bytes, so comments and layout do
not change it; the hash is stored with the data and, later, with every model trained on it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edgeward.errors import SchemaError

DEFAULT_SCHEMA = "ran_kpi.toml"


class MetricSpec(BaseModel):
    """One metric: its unit, type, admissible range and the names it may arrive under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str
    type: Literal["float", "int"] = "float"
    min: float | None = None
    max: float | None = None
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""

    @model_validator(mode="after")
    def _range_is_ordered(self) -> MetricSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SchemaHeader(BaseModel):
    """Schema-wide rules: identity, source names, unknown metrics, time window, labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    source_pattern: str = r"^[A-Za-z0-9][A-Za-z0-9._:=,/ -]{0,199}$"
    unknown_metrics: Literal["quarantine", "accept"] = "quarantine"
    max_past_seconds: int = Field(default=30 * 86400, gt=0)
    max_future_seconds: int = Field(default=300, ge=0)
    max_labels: int = Field(default=32, ge=0)
    max_label_length: int = Field(default=256, ge=1)

    @model_validator(mode="after")
    def _pattern_compiles(self) -> SchemaHeader:
        try:
            re.compile(self.source_pattern)
        except re.error as err:
            raise ValueError(f"source_pattern is not a regular expression: {err}") from err
        return self


PiiAction = Literal["drop", "hash"]


class MetricSchema(BaseModel):
    """A whole schema file: header, metrics by canonical name, PII fields and their action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: SchemaHeader = Field(alias="schema")
    metrics: dict[str, MetricSpec] = Field(min_length=1)
    pii: dict[str, PiiAction] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aliases_are_unique(self) -> MetricSchema:
        seen: dict[str, str] = {}
        for name, spec in self.metrics.items():
            for alias in (name, *spec.aliases):
                if alias in seen and seen[alias] != name:
                    raise ValueError(f"name {alias!r} is used by both {seen[alias]} and {name}")
                seen[alias] = name
        return self

    @property
    def header(self) -> SchemaHeader:
        """Return the schema-wide rules."""
        return self.schema_

    @cached_property
    def canonical_names(self) -> dict[str, str]:
        """Map every accepted name (canonical or alias) to its canonical metric name."""
        names: dict[str, str] = {}
        for name, spec in self.metrics.items():
            names[name] = name
            for alias in spec.aliases:
                names[alias] = name
        return names

    @cached_property
    def required_metrics(self) -> frozenset[str]:
        """Return the canonical names every record must carry."""
        return frozenset(name for name, spec in self.metrics.items() if spec.required)

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        """Return canonical metric names in a stable order (the model's feature order)."""
        return tuple(sorted(self.metrics))

    @cached_property
    def content_hash(self) -> str:
        """Return the SHA-256 of the validated content, independent of file layout."""
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> str:
        """Serialise the validated content (what the store keeps beside the hash)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)


def parse_schema(text: str, *, origin: str) -> MetricSchema:
    """Parse and validate schema TOML, raising `SchemaError` with one readable line."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SchemaError(f"schema {origin} is not valid TOML: {err}") from err
    try:
        return MetricSchema.model_validate(document)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise SchemaError(f"schema {origin}: '{key}': {first['msg']}") from err


def load_schema(path: Path | None = None) -> MetricSchema:
    """Load the schema at `path`, or the bundled RAN KPI schema when `path` is None."""
    if path is None:
        text = resources.files("edgeward.schemas").joinpath(DEFAULT_SCHEMA).read_text("utf-8")
        return parse_schema(text, origin=f"(bundled {DEFAULT_SCHEMA})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SchemaError(f"schema file {path} cannot be read: {err}") from err
    return parse_schema(text, origin=str(path))
