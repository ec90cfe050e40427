"""The HTTP API (`/api/v1`): bearer tokens, the permission table, one error table."""

from ui.api.app import API_PREFIX, API_VERSION, create_api

__all__ = ["API_PREFIX", "API_VERSION", "create_api"]
