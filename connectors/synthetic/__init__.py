"""Synthetic, seeded partner feeds for demos, tests and benchmarks. No real person appears."""

from connectors.synthetic.police import PoliceFeed, malformed_records

__all__ = ["PoliceFeed", "malformed_records"]
