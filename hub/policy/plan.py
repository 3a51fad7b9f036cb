"""Field plans: an agreement's clauses compiled against one event schema.

A plan says, for every field that reaches the recipient, which treatment applies and
which clause allowed it. Fields without a plan entry are absent: field-level default deny.

Resolution for each field, first match wins:
  1. a clause naming the field's path;
  2. the first clause (in agreement order) naming one of the field's tags;
  3. for a child of a record whose own clause is ``keep``: keep, under that clause;
  4. otherwise drop.
A record appears in the output when it is tokenised or any child survives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hub.agreements.models import KNOWN_TREATMENTS, Agreement, FieldClause
from hub.catalogue.schemas import EventType, FieldInfo

# Generalisations: target -> (what the source must be, output field name suffix). A tag
# names what a value means (a date of birth); TIME means any date or timestamp field, by type.
TIME = "<date or timestamp>"
GENERALISERS: dict[str, tuple[str, str]] = {
    "age_band": ("dob", "age_band"),
    "year_of_birth": ("dob", "year_of_birth"),
    "postcode_district": ("postcode", "postcode_district"),
    "postcode_sector": ("postcode", "postcode_sector"),
    "day": (TIME, "day"),
    "week": (TIME, "week"),
    "month": (TIME, "month"),
}
_TIME_TYPES = frozenset({"date", "timestamp-millis", "timestamp-micros"})


def _unfit_for(info: FieldInfo, target: str) -> str | None:
    """Why ``info`` cannot be generalised to ``target``, or None when it can."""
    need, _suffix = GENERALISERS[target]
    if need == TIME:
        branches = info.avro_type if isinstance(info.avro_type, list) else [info.avro_type]
        if any(isinstance(b, dict) and b.get("logicalType") in _TIME_TYPES for b in branches):
            return None
        return f"'{target}' needs a date or timestamp field, '{info.path}' is not"
    if need not in info.tags:
        return f"'{target}' needs a field tagged '{need}', '{info.path}' is not"
    return None


# Clause id of a record present only because clauses allowed some of its fields.
CONTAINER = "(container)"


class PlanError(Exception):
    """The agreement cannot be applied to this schema; the engine withholds (fails closed)."""

    def __init__(self, message: str, clause_id: str | None = None) -> None:
        super().__init__(message)
        self.clause_id = clause_id


@dataclass(frozen=True)
class FieldPlan:
    field: FieldInfo
    out_name: str
    treatment: str
    clause_id: str
    domain: str | None = None
    generalise_to: str | None = None
    children: tuple[FieldPlan, ...] = ()


@dataclass(frozen=True)
class RecordPlan:
    agreement_ref: str
    event_type: str
    fields: tuple[FieldPlan, ...]

    def every_field(self) -> Iterator[FieldPlan]:
        """Every field plan, the nested ones included (depth first, the last field first)."""
        stack = list(self.fields)
        while stack:
            f = stack.pop()
            yield f
            stack.extend(f.children)

    def audit_fields(self) -> dict[str, dict[str, str]]:
        """Output field path -> what the audit records of it: the clause that allowed it,
        the treatment, and the input field it came from when the name changed (e.g.
        ``subject.age_band`` from ``subject.date_of_birth``, generalised)."""
        out: dict[str, dict[str, str]] = {}

        def label(f: FieldPlan) -> str:
            if f.generalise_to:
                return f"generalise:{f.generalise_to}"
            if f.domain:
                return f"token:{f.domain}"
            return f.treatment

        def visit(items: tuple[FieldPlan, ...], prefix: str) -> None:
            for f in items:
                path = prefix + f.out_name
                if f.children:
                    if f.treatment == "token":
                        out[path + ".token"] = {"clause": f.clause_id, "treatment": label(f)}
                    visit(f.children, path + ".")
                    continue
                entry = {"clause": f.clause_id, "treatment": label(f)}
                if f.field.path != path:
                    entry["from"] = f.field.path
                out[path] = entry

        visit(self.fields, "")
        return out


def _validate(clause: FieldClause, event_type: EventType, agreement: Agreement) -> None:
    where = f"clause '{clause.id}' of {agreement.ref}"
    if clause.treatment not in KNOWN_TREATMENTS:
        raise PlanError(f"{where}: unknown treatment '{clause.treatment}'", clause.id)
    if clause.field is not None and event_type.field(clause.field) is None:
        raise PlanError(f"{where}: field '{clause.field}' is not in {event_type.name}", clause.id)
    if clause.tag is not None and not event_type.paths_with_tag(clause.tag):
        raise PlanError(f"{where}: no field of {event_type.name} has tag '{clause.tag}'", clause.id)
    if clause.treatment == "token" and not clause.domain:
        raise PlanError(f"{where}: token needs a linkage 'domain'", clause.id)
    if clause.treatment == "generalise":
        target = GENERALISERS.get(clause.to or "")
        if target is None:
            raise PlanError(f"{where}: cannot generalise to '{clause.to}'", clause.id)
        if clause.field is not None:
            info = event_type.field(clause.field)
            assert info is not None
            problem = _unfit_for(info, clause.to or "")
            if problem:
                raise PlanError(f"{where}: {problem}", clause.id)


def _resolve(
    info: FieldInfo, clauses: tuple[FieldClause, ...], inherited: FieldClause | None
) -> FieldClause | None:
    for c in clauses:
        if c.field == info.path:
            return c
    for c in clauses:
        if c.tag is not None and c.tag in info.tags:
            return c
    return inherited


def _plan_field(
    info: FieldInfo, agreement: Agreement, inherited: FieldClause | None
) -> FieldPlan | None:
    clause = _resolve(info, agreement.fields, inherited)
    if clause is not None and clause.treatment == "drop":
        return None
    if info.is_record:
        if clause is not None and clause.treatment not in ("keep", "token"):
            raise PlanError(
                f"clause '{clause.id}' of {agreement.ref}: '{clause.treatment}' does not apply "
                f"to the record '{info.path}'; treat its fields instead",
                clause.id,
            )
        child_default = clause if clause is not None and clause.treatment == "keep" else None
        children = tuple(
            p for c in info.children if (p := _plan_field(c, agreement, child_default)) is not None
        )
        if clause is None:
            # No clause for the record itself: it is only a container for the fields a clause
            # allowed inside it (e.g. `location.lsoa`), present when one of them is.
            if not children:
                return None
            return FieldPlan(info, info.name, "keep", CONTAINER, None, None, children)
        if clause.treatment == "keep" and not children:
            return None
        return FieldPlan(
            info, info.name, clause.treatment, clause.id, clause.domain, None, children
        )
    if clause is None:
        return None
    if clause.treatment == "generalise":
        need, out_name = GENERALISERS[clause.to or ""]
        problem = _unfit_for(info, clause.to or "")
        if problem:
            raise PlanError(f"clause '{clause.id}' of {agreement.ref}: {problem}", clause.id)
        name = out_name if need != TIME else f"{info.name}_{out_name}"
        return FieldPlan(info, name, "generalise", clause.id, None, clause.to)
    return FieldPlan(info, info.name, clause.treatment, clause.id, clause.domain)


def compile_plan(agreement: Agreement, event_type: EventType) -> RecordPlan:
    """Compile the agreement's field clauses for ``event_type``; raises PlanError."""
    for clause in agreement.fields:
        _validate(clause, event_type, agreement)
    fields = tuple(
        p for f in event_type.fields if (p := _plan_field(f, agreement, None)) is not None
    )
    return RecordPlan(agreement.ref, event_type.slug, fields)
