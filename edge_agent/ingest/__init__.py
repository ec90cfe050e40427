"""Ingestion adapters (MQTT, 3GPP PM files, Prometheus, CSV) and the single writer."""
