"""Connectors: partner sources, recipient sinks and the synthetic partnership generator."""
