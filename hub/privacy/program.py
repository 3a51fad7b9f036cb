"""Field programs: a field plan compiled once into a flat list of steps.

``Transformer.apply_with_notes`` (hub/privacy/transform.py) is the specification: it walks
the plan's tree for every event, deciding per field which treatment applies. A program
makes that choice once per plan: ``keep`` fields become (output name, input name) copies,
every other field a step bound to its treatment, a record a nested program. Running it
builds the recipient's record directly from the decoded event. Treatments are the
transformer's own (tokens, generalisation, redaction), so keys and normalisation are the
same code; errors are raised as the transformer raises them.

The walk is still driven by the plan, never by the input: an unexpected input field can
never reach the output. tests/policy/test_compiled.py checks programs against the
transformer on generated events for every reference agreement.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from hub.catalogue.schemas import EventType
from hub.policy.facts import event_time
from hub.policy.plan import FieldPlan, RecordPlan
from hub.privacy.generalise import generalise
from hub.privacy.redact import RedactionUnavailable, redact
from hub.privacy.transform import Transformed, Transformer, TransformError, _Ctx

# (output name, input name, plan, treatment or None for a plain copy)
Treat = Callable[[Any, _Ctx], Any]
Step = tuple[str, str, FieldPlan, Treat | None]


class FieldProgram:
    """One plan's steps; ``run`` gives what ``Transformer.apply_with_notes`` gives."""

    def __init__(self, plan: RecordPlan, transformer: Transformer) -> None:
        self.plan = plan
        self._tr = transformer
        self._steps = self._compile(plan.fields)

    def _compile(self, plans: tuple[FieldPlan, ...]) -> tuple[Step, ...]:
        return tuple((p.out_name, p.field.name, p, self._treat(p)) for p in plans)

    def _treat(self, p: FieldPlan) -> Treat | None:
        tr = self._tr
        if p.field.is_record:
            children = self._compile(p.children)
            if p.treatment == "token":

                def person(value: Any, ctx: _Ctx) -> Any:
                    if value is None:
                        return None
                    sub = _run(children, value, ctx)
                    return {"token": tr._record_token(p, value, ctx), **sub}

                return person

            def record(value: Any, ctx: _Ctx) -> Any:
                return None if value is None else _run(children, value, ctx)

            return record
        if p.treatment == "keep":
            return None
        if p.treatment == "token":
            return lambda value, ctx: tr._field_token(p, value, ctx)
        if p.treatment == "generalise":
            to = p.generalise_to or ""
            return lambda value, ctx: generalise(to, value, ctx.when)
        if p.treatment == "redact":
            return lambda value, ctx: redact(value, ctx.identifiers())

        def unknown(value: Any, ctx: _Ctx) -> Any:  # the plan compiler rejects these
            raise TransformError(f"unknown treatment '{p.treatment}' for {p.field.path}")

        return unknown

    def run(self, record: Mapping[str, Any], event_type: EventType) -> Transformed:
        when = event_time(record, event_type)
        ctx = _Ctx(record, event_type, when.date() if when else date.today())
        out = _run(self._steps, record, ctx)
        return Transformed(out, tuple(ctx.notes))


def _run(steps: tuple[Step, ...], record: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for out_name, name, p, treat in steps:
        value = record.get(name)
        if treat is None:
            out[out_name] = value
            continue
        try:
            out[out_name] = treat(value, ctx)
        except (ValueError, TypeError, RedactionUnavailable) as exc:
            raise TransformError(f"cannot apply {p.treatment} to {p.field.path}: {exc}") from exc
    return out


class Programs:
    """Programs of one transformer, one per plan (plans are cached by the engine, so the
    same object comes back; a reload's new plans get new programs)."""

    def __init__(self, transformer: Transformer) -> None:
        self._tr = transformer
        self._by_plan: dict[int, FieldProgram] = {}

    def get(self, plan: RecordPlan) -> FieldProgram:
        found = self._by_plan.get(id(plan))
        if found is None or found.plan is not plan:
            if len(self._by_plan) >= 4096:
                self._by_plan.clear()  # bounded: plans of old reloads are not kept
            found = self._by_plan[id(plan)] = FieldProgram(plan, self._tr)
        return found


_BY_TRANSFORMER: weakref.WeakKeyDictionary[Transformer, Programs] = weakref.WeakKeyDictionary()


def apply_with_notes(
    transformer: Transformer, plan: RecordPlan, record: Mapping[str, Any], event_type: EventType
) -> Transformed:
    """``transformer.apply_with_notes(plan, record, event_type)`` through the plan's program."""
    programs = _BY_TRANSFORMER.get(transformer)
    if programs is None:
        programs = _BY_TRANSFORMER[transformer] = Programs(transformer)
    return programs.get(plan).run(record, event_type)
