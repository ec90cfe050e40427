"""Bundled metric schema files (package data)."""
