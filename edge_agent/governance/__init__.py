"""Governance: schema validation, quarantine reasons and PII handling."""
