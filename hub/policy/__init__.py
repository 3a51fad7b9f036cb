"""The pure decision engine. No Kafka, no database, no clock: deterministic and golden-tested."""

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
