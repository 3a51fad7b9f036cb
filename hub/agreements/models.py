"""Agreement models.

An agreement is the enforceable form of a signed information sharing agreement. The
decision engine (``hub.policy``) reads these; nothing here talks to Kafka or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.agreements.gateways import ARTICLE6, ARTICLE9, GATEWAYS, code_of

# Treatments the privacy operators implement. Kept as plain strings on the clause so an
# unknown one loads, and the engine withholds (fails closed) instead of crashing the loader.
KNOWN_TREATMENTS = frozenset({"keep", "drop", "token", "generalise", "redact"})


class Status(StrEnum):
    """What the parties decided. Whether it is *in force* also depends on dates: see State."""

    DRAFT = "draft"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class State(StrEnum):
    """Lifecycle state at a moment: draft -> approved -> in force -> suspended/expired."""

    DRAFT = "draft"
    AWAITING_SIGN_OFF = (
        "awaiting sign-off"  # approved; a DPO review or a controller's sign-off is missing
    )
    APPROVED = "approved"  # approved and signed, but its window or last signature is still ahead
    IN_FORCE = "in force"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
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


# The codes a legal basis field may start with, and what the field is called in errors.
_ARTICLE_CODES: dict[str, tuple[Mapping[str, str], str]] = {
    "article6": (ARTICLE6, "Article 6 basis"),
    "article9": (ARTICLE9, "Article 9 condition"),
}


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
    gateways: tuple[str, ...] = Field(
        default=(),
        description="Statutory gateways relied on, cited as in hub/agreements/gateways.py.",
    )

    @field_validator("article6", "article9")
    @classmethod
    def _known_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        known, what = _ARTICLE_CODES[info.field_name or ""]
        if value is not None and code_of(value) not in known:
            raise ValueError(f"{what} must start with one of {sorted(known)}")
        return value

    @field_validator("gateways")
    @classmethod
    def _known_gateways(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [g for g in value if g not in GATEWAYS]
        if unknown:
            raise ValueError(
                f"unknown gateway(s) {unknown}: cite one of the maintained list in "
                "hub/agreements/gateways.py, or add it there with its summary"
            )
        return value

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
    children_data: str | None = Field(
        default=None,
        description="How children's data is protected under this agreement (required by the "
        "linter when the agreement can share data about children).",
    )
    supersedes: int | None = Field(default=None, description="The version this one replaces.")
    change_note: str = Field(default="", description="What changed from the previous version.")

    @model_validator(mode="after")
    def _window(self) -> Agreement:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    def unsigned(self) -> list[str]:
        """What is missing before this version can be in force: ``DPO review`` and the id of
        every controller without a sign-off. Every controller signs (providers and the
        recipients' operators are controllers, which lint checks); a signature counts only
        for the party it names."""
        missing = [] if self.approval.dpo_review is not None else ["DPO review"]
        signed = {s.party for s in self.approval.sign_off}
        return missing + [c for c in self.controllers if c not in signed]

    def signed_at(self) -> datetime | None:
        """When the last signature was given; None until every required one is there."""
        if self.approval.dpo_review is None or not self.approval.sign_off or self.unsigned():
            return None
        times = [self.approval.dpo_review.at, *(s.at for s in self.approval.sign_off)]
        return max(t if t.tzinfo else t.replace(tzinfo=UTC) for t in times)

    def not_in_force_reason(self, now: datetime) -> str | None:
        """Why this agreement cannot share at ``now``, or None when it is in force."""
        if self.status is not Status.APPROVED:
            return f"agreement {self.ref} is {self.status.value}, not approved"
        signed = self.signed_at()
        if signed is None:
            missing = self.unsigned() or ["a sign-off"]
            return (
                f"agreement {self.ref} lacks a DPO review or sign-off "
                f"(missing: {', '.join(missing)})"
            )
        today = now.date()
        if today < self.effective_from:
            return f"agreement {self.ref} is not in force until {self.effective_from}"
        # Sharing can never begin before the last signature, whatever effective_from says.
        if now < signed:
            return f"agreement {self.ref} is not signed until {signed.isoformat()}"
        if self.effective_to is not None and today > self.effective_to:
            return f"agreement {self.ref} expired on {self.effective_to}"
        return None

    def state(self, now: datetime) -> State:
        if self.status is Status.DRAFT:
            return State.DRAFT
        if self.status is Status.SUSPENDED:
            return State.SUSPENDED
        if self.status is Status.REVOKED:
            return State.REVOKED
        if self.effective_to is not None and now.date() > self.effective_to:
            return State.EXPIRED
        if self.signed_at() is None:
            return State.AWAITING_SIGN_OFF
        return State.IN_FORCE if self.not_in_force_reason(now) is None else State.APPROVED
