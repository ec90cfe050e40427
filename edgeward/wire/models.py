"""Model delivery: the control plane offers a bundle, the agent fetches it chunk by chunk.

The transfer is resumable: the agent asks for the next offset it lacks (`FetchChunk`) and the
control plane answers with that byte range (`BundleChunk`, whose bytes travel as a second,
binary frame). Idempotency: an offer is identified by (`rollout_id`, `version`); an agent
that already holds or is fetching that version ignores a repeated offer (or resumes where
it stopped). Fetching changes nothing on the control plane, so a repeated fetch is harmless.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from edgeward.wire.base import MAX_CHUNK_BYTES, RolloutId, Version, WireMessage


class ModelOffer(WireMessage):
    """Offer a bundle to an agent (pushed by the control plane during a rollout wave).

    `bundle_digest` is the bundle's SHA-256 (hex); `size` the number of bytes to fetch;
    `chunk_size` the largest `length` worth asking for in one `FetchChunk`.
    """

    type: Literal["models.offer"] = "models.offer"
    rollout_id: RolloutId
    version: Version
    bundle_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    chunk_size: int = Field(ge=1, le=MAX_CHUNK_BYTES)
    reason: str = Field(default="", max_length=1024)


class FetchChunk(WireMessage):
    """Ask for `length` bytes of a version's bundle starting at `offset`."""

    type: Literal["models.fetch_chunk"] = "models.fetch_chunk"
    version: Version
    offset: int = Field(ge=0)
    length: int = Field(ge=1, le=MAX_CHUNK_BYTES)


class BundleChunk(WireMessage):
    """Carry bytes `offset` to `offset + len(data)` of a bundle of `total_size` bytes.

    `data` is not part of the JSON header: it is the second frame, sent as raw bytes.
    `eof` is true when this chunk reaches the end of the bundle.
    """

    PAYLOAD_FIELD: ClassVar[str | None] = "data"

    type: Literal["models.bundle_chunk"] = "models.bundle_chunk"
    version: Version
    offset: int = Field(ge=0)
    total_size: int = Field(ge=0)
    eof: bool
    data: bytes = Field(default=b"", max_length=MAX_CHUNK_BYTES)

    @model_validator(mode="after")
    def _within_bundle(self) -> BundleChunk:
        end = self.offset + len(self.data)
        if end > self.total_size:
            raise ValueError(f"chunk ends at byte {end}, past the bundle's {self.total_size}")
        if self.eof != (end == self.total_size):
            raise ValueError("eof must be true exactly when the chunk reaches the bundle's end")
        return self
