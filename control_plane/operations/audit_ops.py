"""The audit log and people: search, verify and export the log; accounts and API tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator

from control_plane.access import Permission, Principal, Role
from control_plane.operations.base import OperationsBase
from control_plane.state import AuditEntry
from control_plane.users import ApiToken, User, UserError


class AuditOperations(OperationsBase):
    """Audit and account operations."""

    # -- audit ----------------------------------------------------------------------
    def audit(
        self,
        who: Principal,
        *,
        actor: str | None = None,
        action: str | None = None,
        subject: str | None = None,
        before_id: int | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Return the newest audit entries matching the filters, newest first.

        `action` matches whole dotted parts (`user` finds `user.add`); `before_id` pages back.
        """
        who.require(Permission.VIEW)
        return self.plane.audit.search(
            actor=actor or None,
            action_prefix=action or None,
            subject=subject or None,
            before_id=before_id,
            limit=limit,
        )

    def verify_audit(self, who: Principal) -> tuple[bool, int | None]:
        """Check the hash chain: (whole, the first broken entry's id or None)."""
        who.require(Permission.VERIFY_AUDIT)
        return self.plane.audit.verify()

    def export_audit(self, who: Principal) -> Iterator[str]:
        """Return the whole audit log as JSON lines, oldest first (the export is audited).

        Not a generator: the permission is checked, and the export recorded, at the call, so
        a streaming caller refuses before it starts sending.
        """
        who.require(Permission.EXPORT_AUDIT)
        self.plane.audit.record(actor=who.name, action="audit.export", subject="audit")
        entries = self.plane.audit.entries(limit=-1)
        return (json.dumps(entry.to_dict(), sort_keys=True) + "\n" for entry in entries)

    # -- people ---------------------------------------------------------------------
    def users(self, who: Principal) -> list[User]:
        """Return every account."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.list()

    def add_user(self, who: Principal, name: str, role: Role, password: str) -> User:
        """Create an account."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.add(name, role, password, actor=who.name)

    def set_disabled(self, who: Principal, name: str, *, disabled: bool) -> User:
        """Disable or re-enable an account (an admin cannot disable their own)."""
        who.require(Permission.MANAGE_USERS)
        if disabled and name == who.name:
            raise UserError("You cannot disable your own account.")
        return self.accounts.set_disabled(name, disabled, actor=who.name)

    def unlock(self, who: Principal, name: str) -> User:
        """Clear an account's lock after failed logins."""
        who.require(Permission.MANAGE_USERS)
        return self.accounts.unlock(name, actor=who.name)

    def tokens(self, who: Principal) -> list[ApiToken]:
        """Return every API token (never their secrets)."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.tokens()

    def issue_token(
        self, who: Principal, user: str, *, label: str, role: Role | None, ttl_s: float | None
    ) -> tuple[ApiToken, str]:
        """Create an API token for `user`; its secret is returned this once."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.issue_token(user, label=label, role=role, ttl_s=ttl_s, actor=who.name)

    def revoke_token(self, who: Principal, token_id: int) -> ApiToken:
        """Stop an API token from working."""
        who.require(Permission.MANAGE_USERS)
        return self.auth.revoke_token(token_id, actor=who.name)
