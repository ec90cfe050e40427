"""The edge agent: the daemon on each device that ingests, governs and stores metrics."""
