"""Embeddings kept on disk, keyed by model identity and text, so repeated runs are fast.

Layout: `<cache_dir>/embeddings/<model key>/<sha256 of the text>.npy`. A file is written to a
temporary name and renamed, so a reader never sees half an embedding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from edgeward.risk.llm.engine import FloatArray
from edgeward.risk.llm.model_file import ModelIdentity

logger = logging.getLogger(__name__)


class EmbeddingCache:
    """A folder of cached text embeddings for one model."""

    def __init__(self, cache_dir: Path, model: ModelIdentity) -> None:
        self.folder = cache_dir / "embeddings" / model.key

    def get(self, text: str) -> FloatArray | None:
        """Return the cached embedding of `text`, or None."""
        path = self._path(text)
        try:
            loaded: FloatArray = np.load(path, allow_pickle=False).astype(np.float32)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            logger.warning("ignoring unreadable cached embedding %s: %s", path, err)
            return None
        return loaded

    def put(self, text: str, embedding: FloatArray) -> None:
        """Store the embedding of `text` (best effort: a full disk only costs speed)."""
        path = self._path(text)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, embedding.astype(np.float32), allow_pickle=False)
            Path(temporary).replace(path)
        except OSError as err:
            logger.warning("could not cache an embedding in %s: %s", self.folder, err)

    def _path(self, text: str) -> Path:
        return self.folder / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}.npy"
