"""Agreement models.

An agreement is the enforceable form of a signed information sharing agreement. The
decision engine (``hub.policy``) reads these; nothing here talks to Kafka or a database.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Treatments the privacy operators implement. Kept as plain strings on the clause so an
# unknown one loads, and the engine withholds (fails closed) instead of crashing the loader.
KNOWN_TREATMENTS = frozenset({"keep", "drop", "token", "generalise", "redact"})


class Status(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str = Field(description="Name and role of the person signing.")
    at: datetime
    party: str | None = Field(default=None, description="Partner the signature is given for.")


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dpo_review: Signature | None = Field(
        default=None, description="Data protection officer review."
    )
    sign_off: tuple[Signature, ...] = Field(
        default=(), description="Senior officer sign-off, one per party."
    )


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    article6: str | None = Field(default=None, description="UK GDPR Article 6 basis.")
    article9: str | None = Field(
        default=None, description="UK GDPR Article 9 condition, for special-category data."
    )
    schedule1: str | None = Field(
        default=None, description="DPA 2018 Schedule 1 condition relied on with Article 9."
    )
    dpa_part3: str | None = Field(
        default=None, description="DPA 2018 Part 3 purpose, for law-enforcement processing."
    )
    gateways: tuple[str, ...] = Field(default=(), description="Statutory gateways relied on.")

    def summary(self) -> str:
        parts = [
            p
            for p in (
                f"UK GDPR Art 6 {self.article6}" if self.article6 else None,
                f"Art 9 {self.article9}" if self.article9 else None,
                f"DPA 2018 Sch 1 {self.schedule1}" if self.schedule1 else None,
                f"DPA 2018 Part 3 {self.dpa_part3}" if self.dpa_part3 else None,
            )
            if p
        ]
        return "; ".join(parts)


class FieldClause(BaseModel):
    """How one field, or every field with a tag, is treated for the recipient."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Clause id, quoted in the audit as what allowed a field.")
    field: str | None = Field(default=None, description="Dotted field path, e.g. subject.postcode")
    tag: str | None = Field(default=None, description="Schema tag, e.g. pii.direct")
    treatment: str = Field(description="keep, drop, token, generalise or redact")
    domain: str | None = Field(default=None, description="Linkage domain for token")
    to: str | None = Field(default=None, description="Target for generalise, e.g. age_band")
    note: str = ""

    @model_validator(mode="after")
    def _one_selector(self) -> FieldClause:
        if (self.field is None) == (self.tag is None):
            raise ValueError(f"clause {self.id}: give exactly one of 'field' or 'tag'")
        return self


class Agreement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: int = Field(ge=1)
    title: str
    purpose: str
    status: Status
    controllers: tuple[str, ...]
    providers: tuple[str, ...]
    recipients: tuple[str, ...]
    legal_basis: LegalBasis
    event_types: tuple[str, ...]
    condition: str | None = Field(
        default=None, description="CEL expression over `event` and `facts`; unset means always."
    )
    fields: tuple[FieldClause, ...]
    retention: str = Field(description="How long the recipient may keep it, ISO 8601, e.g. P2Y")
    review_date: date
    effective_from: date
    effective_to: date | None = None
    approval: Approval = Approval()

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    def not_in_force_reason(self, today: date) -> str | None:
        """Why this agreement cannot share today, or None when it is in force."""
        if self.status is not Status.APPROVED:
            return f"agreement {self.ref} is {self.status.value}, not approved"
        if self.approval.dpo_review is None or not self.approval.sign_off:
            return f"agreement {self.ref} lacks a DPO review or sign-off"
        if today < self.effective_from:
            return f"agreement {self.ref} is not in force until {self.effective_from}"
        if self.effective_to is not None and today > self.effective_to:
            return f"agreement {self.ref} expired on {self.effective_to}"
        return None
