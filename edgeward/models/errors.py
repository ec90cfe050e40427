"""The model zoo's one exception: a spec, stats, weights or data that do not fit."""

from __future__ import annotations

from edgeward.errors import EdgewardError


class ModelError(EdgewardError, ValueError):
    """A model spec, feature stats, weights or windows are invalid or do not match.

    It is a `ValueError` too, so callers that validate input generically catch it; the
    message names the field and what is wrong, fit to show as is.
    """
