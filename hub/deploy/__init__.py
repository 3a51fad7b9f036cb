"""Production deployment: the partnership's Kafka topology, least-privilege ACL plan, and
its renderings (Kafka tool script, Strimzi resources, Kubernetes manifests), plus applying
the plan through the admin API. Pure model and renderers; I/O only in ``load``, ``render``
and ``apply``."""

from hub.deploy.acls import AclPlan, Grant, PlanOptions, Principal, build_acl_plan
from hub.deploy.kubernetes import KubernetesOptions, hub_manifests
from hub.deploy.load import load_topology
from hub.deploy.render import Rendering, render_all, write_rendering
from hub.deploy.topology import TopicSpec, Topology, TopologyOptions, build_topology

__all__ = [
    "AclPlan",
    "Grant",
    "KubernetesOptions",
    "PlanOptions",
    "Principal",
    "Rendering",
    "TopicSpec",
    "Topology",
    "TopologyOptions",
    "build_acl_plan",
    "build_topology",
    "hub_manifests",
    "load_topology",
    "render_all",
    "write_rendering",
]
