"""What can go wrong with approvals; each message is a sentence fit to show as is."""

from __future__ import annotations

from control_plane.errors import ControlPlaneError


class ApprovalError(ControlPlaneError):
    """A verdict cannot be given as asked, or an agent's message about a decision is refused."""


class ApprovalNotFound(ApprovalError):
    """No agent asked for approval of this decision."""


class ApprovalClosed(ApprovalError):
    """The decision already has its verdict, or its request expired: the first outcome is final."""


class OverrideRequired(ApprovalError):
    """A critical decision was approved without an admin override."""


class MalformedPayload(ApprovalError):
    """A decision message's payload does not have the shape the control plane reads."""


class ExportFailed(ApprovalError):
    """Verdicts cannot be exported as asked: a time that does not parse, an unwritable file."""
