"""Decisions: the engine's output, one per candidate recipient of an event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from hub.policy.plan import RecordPlan

# Fixed namespace so disclosure ids are the same in every process and every run.
_DISCLOSURE_NS = uuid.UUID("6c1f3a52-2d0e-4f57-9a51-5e0f3f3b1d11")


class Outcome(StrEnum):
    SHARED = "shared"
    WITHHELD = "withheld"


def disclosure_id(event_id: str, recipient: str, agreement_id: str, version: int) -> str:
    """The idempotency key of one disclosure: (event, recipient, agreement version)."""
    return str(uuid.uuid5(_DISCLOSURE_NS, f"{event_id}|{recipient}|{agreement_id}|{version}"))


def decision_id(event_id: str, recipient: str) -> str:
    """One decision per (event, candidate recipient): the audit's idempotency key."""
    return str(uuid.uuid5(_DISCLOSURE_NS, f"decision|{event_id}|{recipient}"))


@dataclass(frozen=True)
class Decision:
    event_id: str
    event_type: str
    provider: str
    recipient: str
    outcome: Outcome
    reason: str
    agreement_id: str | None = None
    agreement_version: int | None = None
    plan: RecordPlan | None = field(default=None, repr=False, compare=False)

    @property
    def shared(self) -> bool:
        return self.outcome is Outcome.SHARED

    @property
    def decision_id(self) -> str:
        return decision_id(self.event_id, self.recipient)

    @property
    def disclosure_id(self) -> str | None:
        if not self.shared or self.agreement_id is None or self.agreement_version is None:
            return None
        return disclosure_id(
            self.event_id, self.recipient, self.agreement_id, self.agreement_version
        )
