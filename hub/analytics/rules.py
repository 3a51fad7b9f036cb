"""Linkage alert rules: declared in ``partnership/alerts/<id>.yaml``, governed like agreements.

A rule says which pieces, seen by the hub within a time window about the same pseudonymous
subject, add up to something a recipient must know, and which agreement lets the hub tell
that recipient. Rules are configuration, never code: an IG officer reads and approves them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.errors import ConfigError
from hub.yamlfile import load_model

DAY_MS = 86_400_000


class Selector(BaseModel):
    """Which events count as one piece of the picture."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str = Field(description="Catalogue slug, e.g. missing-episode.")
    where: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Dotted field path -> accepted values (enum symbols, strings, 'true' or "
        "'false'); for an array field, any element may match.",
    )
    role: Literal["person", "related-person"] = Field(
        default="person",
        description="Which person of the event is linked: the subject (tag 'person') or the "
        "related person (tag 'related-person', e.g. a domestic-abuse perpetrator).",
    )
    child: bool | None = Field(
        default=None,
        description="true: the person must be a child at the event (recorded as CHILD or "
        "under 18 by date of birth); false: an adult; unset: either.",
    )

    def matches(self, event_type: str, role: str, child: bool | None, attrs: Any) -> bool:
        if event_type != self.event_type or role != self.role:
            return False
        if self.child is not None and child is not self.child:
            return False
        for path, accepted in self.where.items():
            values = attrs.get(path, ())
            if not any(v in accepted for v in values):
                return False
        return True


class AnyOf(BaseModel):
    """A step several kinds of event can fill, e.g. a police concern or a council referral."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any_of: tuple[Selector, ...] = Field(min_length=1)

    def selectors(self) -> tuple[Selector, ...]:
        return self.any_of


Step = Selector | AnyOf


def selectors(step: Step) -> tuple[Selector, ...]:
    return step.any_of if isinstance(step, AnyOf) else (step,)


class Notify(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: str = Field(description="Recipient id from partnership/partners.yaml.")
    agreement: str = Field(
        description="Id of the agreement (event type linkage-alert) that lets the hub notify "
        "this recipient; its condition and state decide each alert."
    )


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str
    meaning: str = Field(description="What the alert tells the recipient, in plain English.")
    status: Literal["active", "draft", "retired"] = "active"
    window_days: int = Field(ge=1, le=400, description="All pieces lie within this many days.")
    steps: tuple[Step, ...] = Field(
        min_length=1,
        description="Each step needs at least one matching event in the window; a step is "
        "one selector or {any_of: [selectors]}.",
    )
    min_events: int = Field(
        default=0, ge=0, description="At least this many events in all (default: one a step)."
    )
    min_agencies: int = Field(
        default=1, ge=1, description="The events come from at least this many partners."
    )
    ends: tuple[Selector, ...] = Field(
        default=(),
        description="Events that end an earlier piece of the same event type (e.g. leaving "
        "the IOM cohort ends having entered it).",
    )
    notify: tuple[Notify, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _enough(self) -> AlertRule:
        if self.min_events and self.min_events < len(self.steps):
            raise ValueError("min_events cannot be fewer than the number of steps")
        return self

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    @property
    def needed(self) -> int:
        return max(self.min_events, len(self.steps))

    @property
    def window_ms(self) -> int:
        return self.window_days * DAY_MS

    def all_selectors(self) -> tuple[Selector, ...]:
        """Every selector of the rule: of its steps and of its ends."""
        return (*(x for s in self.steps for x in selectors(s)), *self.ends)

    def event_types(self) -> set[str]:
        return {s.event_type for s in self.all_selectors()}


def rule_schema() -> dict[str, Any]:
    """The JSON Schema of alert rule files (``partnership/alerts/alert.schema.json``)."""
    schema = AlertRule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Linkage alert rule"
    return schema


def load_rule(path: Path) -> AlertRule:
    rule = load_model(path, AlertRule, "alert rule", ConfigError)
    if path.stem != rule.id:
        raise ConfigError(f"{path}: rule {rule.id} must live in {rule.id}.yaml")
    return rule


def load_rules(folder: Path, *, active_only: bool = True) -> list[AlertRule]:
    """Every rule in ``folder`` (``<id>.yaml``), sorted by id; drafts and retired rules are
    skipped unless ``active_only`` is false."""
    if not folder.is_dir():
        raise ConfigError(f"alert rule folder {folder} does not exist")
    rules = [load_rule(p) for p in sorted(folder.glob("*.yaml"))]
    return [r for r in rules if r.status == "active" or not active_only]


def schema_text() -> str:
    return json.dumps(rule_schema(), indent=2, sort_keys=True) + "\n"
