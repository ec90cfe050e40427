"""One llama.cpp model in this process: text embeddings and short completions, thread-safe.

A single `llama_cpp.Llama` serves both uses. Embeddings are read with pooling turned off, so
this module pools itself: the mean of the final hidden states over the text's tokens (the
beginning-of-sequence token, identical for every text, is left out). Decoder-only GGUFs such
as Gemma 3 declare no pooling type and llama-cpp-python 0.3.36's `Llama.embed` segfaults on
them, so the layer decodes a batch itself and toggles embedding output around it.

Every call into llama.cpp holds `LlamaEngine.lock`: a llama context is not thread-safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final, cast

import llama_cpp
import llama_cpp.llama_cpp as llama_c
import numpy as np
import numpy.typing as npt

from edgeward.risk.llm.errors import ModelLoadFailed

logger = logging.getLogger(__name__)
_CONSTRUCTION_LOCK: Final = threading.Lock()

FloatArray = npt.NDArray[np.float32]


class LlamaEngine:
    """A loaded GGUF model that embeds texts and completes prompts, one call at a time."""

    def __init__(
        self, model_path: Path, *, n_threads: int = 2, n_ctx: int = 512, extra_buffers: bool = False
    ) -> None:
        self.model_path = model_path
        self.lock = threading.Lock()
        try:
            with _model_params_without_extra_buffers(not extra_buffers):
                self._llama = llama_cpp.Llama(
                    model_path=str(model_path),
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    n_ctx=n_ctx,
                    pooling_type=llama_c.LLAMA_POOLING_TYPE_NONE,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as err:
            raise ModelLoadFailed(f"llama.cpp could not load {model_path}: {err}") from err
        self.n_embd = int(self._llama.n_embd())
        self._max_tokens = min(n_ctx, int(self._llama.n_batch))
        metadata: dict[str, str] = dict(self._llama.metadata)
        self.chat_template: str | None = metadata.get("tokenizer.chat_template")
        self.name = metadata.get("general.name", model_path.stem)

    @property
    def has_chat_template(self) -> bool:
        """Return whether the GGUF carries its own chat template."""
        return bool(self.chat_template)

    def embed(self, text: str) -> FloatArray:
        """Return the mean of the final hidden states over `text`'s tokens (BOS excluded)."""
        with self.lock:
            tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=True)[: self._max_tokens]
            hidden = self._decode_hidden_states(tokens)
        body = hidden[1:] if len(tokens) > 1 and tokens[0] == self._llama.token_bos() else hidden
        return cast(FloatArray, body.mean(axis=0).astype(np.float32))

    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str:
        """Return the greedy continuation of a plain-text prompt."""
        with self.lock:
            self._llama.reset()  # type: ignore[no-untyped-call]
            result = cast(
                dict[str, Any],
                self._llama.create_completion(
                    prompt, max_tokens=max_tokens, temperature=0.0, stop=stop
                ),
            )
        return str(result["choices"][0]["text"])

    def chat(self, system: str, user: str, *, max_tokens: int) -> str:
        """Return the model's greedy reply to one user turn, formatted by its chat template."""
        with self.lock:
            self._llama.reset()  # type: ignore[no-untyped-call]
            result = cast(
                dict[str, Any],
                self._llama.create_chat_completion(
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    max_tokens=max_tokens,
                    temperature=0.0,
                ),
            )
        return str(result["choices"][0]["message"]["content"] or "")

    def _decode_hidden_states(self, tokens: list[int]) -> FloatArray:
        """Decode `tokens` as one sequence and return their hidden states, (n_tokens, n_embd)."""
        ctx = self._llama.ctx
        memory = llama_c.llama_get_memory(ctx)
        if memory is not None:
            llama_c.llama_memory_clear(memory, True)
        self._llama.reset()  # type: ignore[no-untyped-call]
        batch = _batch_with_every_output(tokens)
        llama_c.llama_set_embeddings(ctx, True)
        try:
            code = llama_c.llama_decode(ctx, batch)
            if code != 0:
                raise ModelLoadFailed(f"llama.cpp failed to decode a text (code {code})")
            pointer = llama_c.llama_get_embeddings(ctx)
            flat = np.ctypeslib.as_array(
                ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)),
                shape=(len(tokens) * self.n_embd,),
            )
            return flat.reshape(len(tokens), self.n_embd).astype(np.float32)
        finally:
            llama_c.llama_batch_free(batch)
            llama_c.llama_set_embeddings(ctx, False)
            if memory is not None:
                llama_c.llama_memory_clear(memory, True)


def _batch_with_every_output(tokens: list[int]) -> llama_c.llama_batch:
    """Return a one-sequence batch of `tokens` that asks for every token's output."""
    batch: llama_c.llama_batch = llama_c.llama_batch_init(len(tokens), 0, 1)
    batch.n_tokens = len(tokens)
    for position, token in enumerate(tokens):
        batch.token[position] = token
        batch.pos[position] = position  # type: ignore[call-overload]  # stub types it as a pointer array
        batch.n_seq_id[position] = 1
        batch.seq_id[position][0] = 0
        batch.logits[position] = True
    return batch


@contextlib.contextmanager
def _model_params_without_extra_buffers(active: bool) -> Iterator[None]:
    """Make `Llama(...)` load weights without extra buffer types (AMX, CPU repack).

    llama-cpp-python 0.3.36 does not expose `use_extra_bufts`, and its AMX kernels fault on
    CPUs that advertise AMX inside VMs that do not enable it (measured: a segfault in
    `ggml_backend_amx_mul_mat` on the first decode). `Llama.__init__` reads the defaults from
    `llama_model_default_params`, so they are adjusted only while one model is constructed.
    """
    if not active:
        yield
        return
    with _CONSTRUCTION_LOCK:
        original = llama_c.llama_model_default_params

        def without_extra_buffers() -> llama_c.llama_model_params:
            params: llama_c.llama_model_params = original()
            params.use_extra_bufts = False
            return params

        llama_c.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            llama_c.llama_model_default_params = original
