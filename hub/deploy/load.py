"""Read the partnership configuration from disk into a topology (the only I/O step)."""

from __future__ import annotations

from pathlib import Path

from hub.agreements.loader import load_agreements
from hub.agreements.partnership import load_partnership
from hub.catalogue.schemas import load_catalogue
from hub.deploy.topology import Topology, TopologyOptions, build_topology


def load_topology(
    partnership_dir: Path, schemas_dir: Path, options: TopologyOptions | None = None
) -> Topology:
    return build_topology(
        load_partnership(partnership_dir),
        load_agreements(partnership_dir / "agreements"),
        load_catalogue(schemas_dir),
        options,
    )
