"""What every part of the service layer shares: the control plane's state and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from control_plane.local import LocalPlane
from control_plane.users import AccountStore, Authenticator


class OperationsBase:
    """The state the operations act on (see `control_plane.operations.service`)."""

    def __init__(
        self,
        plane: LocalPlane,
        *,
        accounts: AccountStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plane = plane
        self.accounts = accounts or AccountStore(plane.writer, plane.audit)
        self.auth = Authenticator(
            plane.writer, plane.audit, self.accounts, plane.settings.dashboard, clock=clock
        )
        self._clock = clock
