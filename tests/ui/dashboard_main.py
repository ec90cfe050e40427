"""The main file NiceGUI's `user` fixture runs: the dashboard over the test's operations."""

from nicegui import ui

from tests.ui.binding import current_operations
from ui.app import build

build(current_operations())
ui.run(storage_secret="test secret")
