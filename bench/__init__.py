"""Benchmarks that compare the hub against its baselines in one run (see bench/README.md)."""
