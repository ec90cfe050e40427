"""Settings of the LLM risk layer: which GGUF, how many threads, where tuned heads live.

Keys live in the `[risk_llm]` table of a TOML file; each can be overridden by
`EDGEWARD_RISK_LLM__<KEY>` (for example `EDGEWARD_RISK_LLM__CACHE_DIR`) or a flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edgeward.settings import load_settings

ROLE = "risk_llm"


def default_cache_dir() -> Path:
    """Return where tuned heads and cached embeddings live by default (outside the repo)."""
    return Path.home() / ".cache" / "edgeward" / "risk"


class LlmSettings(BaseModel):
    """Everything the LLM layer needs to load a model and find its tuned head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path | None = None
    """A GGUF file; None means the default model shipped as a Python package."""
    n_threads: int = Field(default=2, ge=1, le=256)
    n_ctx: int = Field(default=512, ge=128, le=32768)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    extra_buffers: bool = False
    """Let llama.cpp repack weights into extra buffer types (AMX, ...): off by default because
    the AMX path crashes on CPUs that advertise AMX inside VMs that do not enable it."""
    rationale_max_tokens: int = Field(default=40, ge=8, le=200)


def load_llm_settings(
    *, config_file: Path | None = None, flags: Mapping[str, Any] | None = None
) -> LlmSettings:
    """Return the LLM layer's settings from file, environment and flags."""
    return load_settings(LlmSettings, role=ROLE, config_file=config_file, flags=flags)
