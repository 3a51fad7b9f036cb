"""The pure decision engine. No Kafka, no database, no clock: deterministic and golden-tested.

The exports are imported when first read (hub/lazy.py): ``hub.policy.facts`` and
``hub.policy.plan`` (the connectors, the codec) do not load the engine's CEL."""

from typing import TYPE_CHECKING

from hub.lazy import lazy_exports

if TYPE_CHECKING:
    from hub.policy.decision import Decision, Outcome, decision_id, disclosure_id
    from hub.policy.engine import PolicyEngine
    from hub.policy.plan import FieldPlan, PlanError, RecordPlan, compile_plan

__all__ = [
    "Decision",
    "FieldPlan",
    "Outcome",
    "PlanError",
    "PolicyEngine",
    "RecordPlan",
    "compile_plan",
    "decision_id",
    "disclosure_id",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Decision": "hub.policy.decision",
            "FieldPlan": "hub.policy.plan",
            "Outcome": "hub.policy.decision",
            "PlanError": "hub.policy.plan",
            "PolicyEngine": "hub.policy.engine",
            "RecordPlan": "hub.policy.plan",
            "compile_plan": "hub.policy.plan",
            "decision_id": "hub.policy.decision",
            "disclosure_id": "hub.policy.decision",
        },
    )
