"""A Flower Grid that delivers messages to ClientApps in this process (unit tests only).

Real strategies, the real ServerApp logic and the real ClientApp run unchanged; only the
transport (SuperLink, SuperNodes, processes) is replaced by a function call, so a whole run
takes seconds. Integration tests use the real deployment engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flwr.app import Context, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

SERVER_NODE_ID = 0

Interceptor = Callable[[int, Message, Message], Message]


class InProcessGrid(Grid):
    """Nodes are (node id -> node config); each message runs the ClientApp directly."""

    def __init__(
        self,
        client_app: ClientApp,
        nodes: dict[int, dict[str, Any]],
        *,
        run_config: dict[str, Any] | None = None,
        tamper: Interceptor | None = None,
    ) -> None:
        self._app = client_app
        self._nodes = nodes
        self._run_config = run_config or {}
        self._tamper = tamper
        self.offline: set[int] = set()
        self.sent: list[str] = []
        # Flower's runtime sets the identity of the process's task; messages read it.
        TaskIdentity.run_id = 1
        TaskIdentity.node_id = SERVER_NODE_ID
        TaskIdentity.task_id = 1

    def set_run(self, run: Any) -> None:
        """Nothing to set: there is one run."""

    @property
    def run(self) -> Any:
        """Return nothing: there is no SuperLink run object."""
        return None

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Build a message as Flower's grids do."""
        return Message(content=content, message_type=message_type, dst_node_id=dst_node_id)

    def get_node_ids(self) -> Iterable[int]:
        """Return the nodes that are online."""
        return [n for n in self._nodes if n not in self.offline]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Not used: send_and_receive delivers directly."""
        raise NotImplementedError

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Not used: send_and_receive delivers directly."""
        raise NotImplementedError

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Run the ClientApp for each message whose node is online; return the replies."""
        replies = []
        for message in messages:
            node = message.metadata.dst_node_id
            self.sent.append(message.metadata.message_type)
            if node in self.offline:
                continue  # a dead node never answers; the caller's timeout covers it
            context = Context(
                run_id=1,
                node_id=node,
                node_config=self._nodes[node],
                state=RecordDict(),
                run_config=self._run_config,
            )
            reply = self._app(message=message, context=context)
            if self._tamper is not None:
                reply = self._tamper(node, message, reply)
            replies.append(reply)
        return replies
