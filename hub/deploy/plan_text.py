"""The topic and ACL plan as data (``--json``) and as a table for people (pure)."""

from __future__ import annotations

from typing import Any

from hub.deploy.acls import AclPlan
from hub.deploy.topology import Topology


def plan_document(topology: Topology, plan: AclPlan) -> dict[str, Any]:
    """One JSON-ready object: topics with their settings, principals with their grants."""
    return {
        "topics": [
            {
                "name": t.name,
                "role": t.role.value,
                "owner": t.owner,
                "event_type": t.event_type,
                "partitions": t.partitions,
                "replication_factor": t.replication_factor,
                "config": dict(t.config),
                "retention_source": t.retention_source,
            }
            for t in topology.topics
        ],
        "principals": [
            {
                "name": p.name,
                "kind": p.kind.value,
                "description": p.description,
                "grants": [
                    {
                        "resource_type": g.resource_type.value,
                        "resource": g.resource,
                        "pattern_type": "literal",
                        "operation": g.operation.value,
                    }
                    for g in p.grants
                ],
            }
            for p in plan.principals
        ],
        "linkage_domains": list(topology.linkage_domains),
    }


def plan_lines(topology: Topology, plan: AclPlan) -> list[str]:
    lines = [f"topics ({len(topology.topics)}):"]
    width = max(len(t.name) for t in topology.topics)
    for t in topology.topics:
        days = "forever" if t.retention_ms < 0 else f"{t.retention_ms / 86_400_000:g}d"
        lines.append(
            f"  {t.name:<{width}}  partitions {t.partitions}  rf {t.replication_factor}  "
            f"retention {days} ({t.retention_source})"
        )
    lines.append(f"principals ({len(plan.principals)}), every grant literal:")
    for p in plan.principals:
        lines.append(f"  {p.name}: {p.description}")
        by_resource = p.operations_by_resource()
        if not by_resource:
            lines.append("    (no grants: no agreement names it yet)")
        for rtype, resource, ops in by_resource:
            lines.append(f"    {rtype.value} {resource}: {', '.join(op.value for op in ops)}")
    return lines
