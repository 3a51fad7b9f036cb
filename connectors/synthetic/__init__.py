"""Synthetic, seeded partner feeds for demos, tests and benchmarks. No real person appears."""

from connectors.synthetic.police import PoliceFeed, malformed_records

# The whole partnership (generator, connectors, sinks) is in connectors.synthetic.partnership:
# imported on demand, as it pulls in the connector runtime.
__all__ = ["PoliceFeed", "malformed_records"]
