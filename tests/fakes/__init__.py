"""Fakes for unit tests only; integration tests use the real components."""
