"""Load a role's settings from TOML, environment variables and flags, validated at start.

Precedence, lowest first: the model's defaults, the role's table in the TOML file
(`[agent]`, `[agent.mqtt]`, ...), environment variables, command-line flags. The variable for a
key is `EDGEWARD_<ROLE>__<KEY>` with `__` between nesting levels, for example
`EDGEWARD_AGENT__MQTT__URL`. This module is the only place that reads `os.environ` for settings.

A bad value raises `SettingsError` with one line naming the key, where the value came from and
what is wrong, so that a daemon stops before doing anything.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from edgeward.errors import SettingsError

M = TypeVar("M", bound=BaseModel)
ENV_PREFIX = "EDGEWARD_"


def env_var_for(role: str, key: str) -> str:
    """Return the environment variable that overrides `key` (dotted) for `role`."""
    return ENV_PREFIX + role.upper() + "__" + "__".join(part.upper() for part in key.split("."))


def load_settings(
    model: type[M],
    *,
    role: str,
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> M:
    """Build and validate `model` for `role` from file, environment and flags."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if config_file is not None:
        table = _read_role_table(config_file, role)
        for key, value in _flatten(table):
            _assign(values, key, value)
            origins[key] = f"file {config_file}"
    env = os.environ if environ is None else environ
    prefix = ENV_PREFIX + role.upper() + "__"
    for name, raw in env.items():
        if name.startswith(prefix):
            key = ".".join(part.lower() for part in name[len(prefix) :].split("__"))
            _assign(values, key, _parse_env_value(raw))
            origins[key] = f"environment {name}"
    for key, value in (flags or {}).items():
        if value is not None:
            _assign(values, key, value)
            origins[key] = "command line"
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise SettingsError(_first_error_line(err, origins, role)) from err


def _read_role_table(path: Path, role: str) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SettingsError(f"settings file {path} does not exist") from err
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"settings file {path} cannot be read: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"settings file {path} is not valid TOML: {err}") from err
    table = document.get(role, {})
    if not isinstance(table, dict):
        raise SettingsError(f"settings file {path}: [{role}] must be a table")
    return table


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, value) for the leaves of nested tables.

    Lists of tables (`[[agent.prometheus.targets]]`) stay whole: they are one value.
    """
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


def _assign(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def _parse_env_value(raw: str) -> Any:
    """Read lists and tables from JSON; everything else stays a string for pydantic to coerce."""
    stripped = raw.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def _first_error_line(err: ValidationError, origins: Mapping[str, str], role: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    origin = _origin_of(key, origins)
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    elif first["type"] == "missing":
        message = (
            f"is required: set it in the [{role}] table of the settings file, "
            f"as {env_var_for(role, key)}, or with its command-line flag"
        )
    where = f" (from {origin})" if origin else ""
    return f"setting '{key}'{where}: {message}"


def _origin_of(key: str, origins: Mapping[str, str]) -> str:
    """Find where `key` (or the nearest enclosing key that was set) came from."""
    parts = key.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in origins:
            return origins[candidate]
        parts.pop()
    return ""
