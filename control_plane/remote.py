"""A thin client of the control plane's HTTP API, for operator commands given `--url`.

The commands talk to `<url>/api/v1` with an API token instead of opening the database on
this host; the API checks the token's role and audits changes under its owner's name. An
error the API answers is raised with the API's own sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import httpx

from control_plane.access import AccessDenied, NotAuthenticated
from control_plane.errors import ControlPlaneError
from edgeward.errors import ConnectionFailed

API_PATH: Final = "/api/v1"
TIMEOUT_S: Final = 30.0


class RemoteError(ControlPlaneError):
    """The control plane's API refused a request (the message is its sentence)."""


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/") + API_PATH,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_S,
    )


client_factory: Callable[[str, str], httpx.Client] = _client
"""Make the HTTP client for a control plane URL and token (tests put a transport in)."""


class RemoteControlPlane:
    """Calls to one control plane's API with one token."""

    def __init__(self, url: str, token: str | None) -> None:
        if not token:
            raise NotAuthenticated(
                "A remote control plane needs an API token: pass --token or set EDGEWARD_TOKEN."
            )
        self.url = url
        self._client = client_factory(url, token)

    def get(self, path: str, **params: Any) -> Any:
        """Return the JSON answer of GET `path`."""
        query = {key: value for key, value in params.items() if value is not None}
        return self._call("GET", path, params=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Return the JSON answer of POST `path` with `body`."""
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise ConnectionFailed(f"The control plane at {self.url} cannot be reached.") from err
        if response.is_success:
            return response.json()
        raise _error(response)


def _error(response: httpx.Response) -> ControlPlaneError:
    try:
        sentence = str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        sentence = f"The control plane answered {response.status_code}."
    if response.status_code == 401:
        return NotAuthenticated(sentence)
    if response.status_code == 403:
        return AccessDenied(sentence)
    return RemoteError(sentence)
