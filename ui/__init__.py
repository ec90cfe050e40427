"""The administrative dashboard (NiceGUI) and the HTTP API behind it."""
