"""Production deployment: the partnership's Kafka topology, least-privilege ACL plan, and
its renderings (Kafka tool script, Strimzi resources, Kubernetes manifests), plus applying
the plan through the admin API. Pure model and renderers; I/O only in ``load``, ``render``
and ``apply``.

The exports are imported when first read (hub/lazy.py): importing one part (the topology,
the ACL plan) does not load the renderers and the loader with it."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
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

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "AclPlan": "hub.deploy.acls",
            "Grant": "hub.deploy.acls",
            "KubernetesOptions": "hub.deploy.kubernetes",
            "PlanOptions": "hub.deploy.acls",
            "Principal": "hub.deploy.acls",
            "Rendering": "hub.deploy.render",
            "TopicSpec": "hub.deploy.topology",
            "Topology": "hub.deploy.topology",
            "TopologyOptions": "hub.deploy.topology",
            "build_acl_plan": "hub.deploy.acls",
            "build_topology": "hub.deploy.topology",
            "hub_manifests": "hub.deploy.kubernetes",
            "load_topology": "hub.deploy.load",
            "render_all": "hub.deploy.render",
            "write_rendering": "hub.deploy.render",
        },
    )
