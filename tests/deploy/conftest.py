"""The reference partnership's topology and ACL plan, shared by the deploy tests."""

from __future__ import annotations

import pytest

from hub.deploy.acls import AclPlan, PlanOptions, build_acl_plan
from hub.deploy.load import load_topology
from hub.deploy.topology import Topology
from tests.conftest import ROOT


@pytest.fixture(scope="session")
def topology() -> Topology:
    return load_topology(ROOT / "partnership", ROOT / "schemas" / "avro")


@pytest.fixture(scope="session")
def plan(topology: Topology) -> AclPlan:
    return build_acl_plan(topology, PlanOptions(transactions=True))
