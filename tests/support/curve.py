"""Throwaway CURVE keys, an in-memory fleet to admit them, and polling for transport tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq


@dataclass(frozen=True)
class Keys:
    """A CURVE key pair (Z85)."""

    public: bytes
    secret: bytes


def new_keys() -> Keys:
    """Return a fresh CURVE key pair."""
    public, secret = zmq.curve_keypair()
    return Keys(public=public, secret=secret)


@dataclass
class Fleet:
    """The enrolled keys (Z85 public key → site); tests revoke by deleting an entry."""

    sites: dict[bytes, str] = field(default_factory=dict)
    asked: int = 0

    def admit(self, key: bytes) -> str | None:
        self.asked += 1
        return self.sites.get(key)


def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it holds or `timeout` passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
