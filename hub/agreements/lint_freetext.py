"""Lint: free text kept for a recipient that gets people pseudonymised.

An agreement that replaces a person's identity with a token, drops it or generalises it says
the recipient must not know who the person is. A free-text field kept as is undoes that:
narratives name the subject, other victims, family and suspects. Such text must be
``redact``-ed (hub/privacy/redaction, which removes every name and identifier) or dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from hub.policy.plan import FieldPlan, RecordPlan

CODE = "free-text-kept-pseudonymised"
_IDENTITY_TAGS = frozenset({"pii.direct", "identity"})


def _hides_identity(plan: RecordPlan) -> FieldPlan | None:
    """The first field whose person is withheld from the recipient: a token, or an identity
    field generalised. (A dropped field is absent from the plan, so it cannot be seen here;
    the person record's own token is the usual sign.)"""
    for p in plan.every_field():
        if p.treatment == "token" and (p.field.is_record or p.field.tags & _IDENTITY_TAGS):
            return p
        if p.treatment == "generalise" and p.field.tags & _IDENTITY_TAGS:
            return p
    return None


def free_text_kept(plan: RecordPlan, finding: Callable[..., Any]) -> Iterator[Any]:
    """One warning per free-text field kept as is when the plan hides who people are."""
    from hub.agreements.lint import Severity  # lint imports this module

    hidden = _hides_identity(plan)
    if hidden is None:
        return
    for p in plan.every_field():
        if p.treatment == "keep" and "free-text" in p.field.tags:
            yield finding(
                CODE,
                f"free-text field '{p.field.path}' is kept (`keep`) for a pseudonymised "
                f"recipient ('{hidden.field.path}' is {hidden.treatment}): the text can name "
                "the person the agreement hides, and others",
                "treat it `redact` (every name and identifier removed; try "
                f"`hub agreements redact-check {plan.agreement_ref.split('@')[0]} "
                f"{p.field.path}`) or drop it",
                clause=p.clause_id,
                severity=Severity.WARNING,
            )
