"""Personal data in metric labels: drop it, or replace it with a keyed pseudonym."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from edgeward.schema import PiiAction

PII_KEY_FILE = "pii.key"
PSEUDONYM_PREFIX = "pii:"


class PiiScrubber:
    """Apply the schema's PII actions to label-like fields, matching names case-insensitively.

    Hashing uses HMAC-SHA256 with a per-site secret key: the same subscriber keeps the same
    pseudonym across records (so it can still be counted), but the pseudonym cannot be
    reversed by hashing every possible IMSI without the key.
    """

    def __init__(self, actions: Mapping[str, PiiAction], key: bytes) -> None:
        self._actions = {name.lower(): action for name, action in actions.items()}
        self._key = key

    def action_for(self, field: str) -> PiiAction | None:
        """Return what to do with `field`, or None when it is not personal data."""
        return self._actions.get(field.lower()) if self._actions else None

    def pseudonym(self, value: str) -> str:
        """Return the keyed, irreversible stand-in for `value`."""
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return PSEUDONYM_PREFIX + digest.hexdigest()[:32]

    def scrub(self, fields: Mapping[str, object]) -> dict[str, object]:
        """Return `fields` with personal values dropped or pseudonymised (others unchanged)."""
        if not self._actions:
            return dict(fields)
        scrubbed: dict[str, object] = {}
        for name, value in fields.items():
            action = self.action_for(name)
            if action is None:
                scrubbed[name] = value
            elif action == "hash":
                scrubbed[name] = self.pseudonym(str(value))
        return scrubbed


def load_or_create_pii_key(data_dir: Path) -> bytes:
    """Return the site's PII key, creating a random one (mode 0600) on first use."""
    path = data_dir / PII_KEY_FILE
    if path.exists():
        return path.read_bytes()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # Created with its final mode so the key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key
