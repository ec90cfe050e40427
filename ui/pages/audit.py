"""Audit: filled in by the dashboard milestone (see ui/pages/__init__.py)."""

from __future__ import annotations

from nicegui import ui

from control_plane.access import Principal


async def audit_page(who: Principal) -> None:
    """Show the audit page."""
    ui.label("This page is being built.")
