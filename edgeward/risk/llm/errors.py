"""The errors of the LLM risk layer; each message says what to do about it."""

from __future__ import annotations

from edgeward.errors import EdgewardError


class LlmError(EdgewardError):
    """The on-device LLM layer cannot screen decisions."""

    exit_code = 20


class ModelFileMissing(LlmError):
    """The GGUF model file does not exist or cannot be read."""

    exit_code = 21


class ModelLoadFailed(LlmError):
    """llama.cpp could not load or run the GGUF model file."""

    exit_code = 22


class LlmHeadMissing(LlmError):
    """No tuned head exists for this model yet; the caller should fall back to the rules."""

    exit_code = 23


class LlmHeadInvalid(LlmError):
    """A cached head cannot be read or does not fit the model (tune again)."""

    exit_code = 24


class TuningDataError(LlmError):
    """The cases given for tuning or evaluation cannot be used (too few, a missing level)."""

    exit_code = 25
