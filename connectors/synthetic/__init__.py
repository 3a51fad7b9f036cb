"""Synthetic, seeded partner feeds for demos, tests and benchmarks. No real person appears."""

from connectors.synthetic.police import PoliceFeed, malformed_records

# The whole partnership run through the connectors, the processor and the sinks is the
# demo's (hub/demo/partnership.py); here are only the seeded generators.
__all__ = ["PoliceFeed", "malformed_records"]
