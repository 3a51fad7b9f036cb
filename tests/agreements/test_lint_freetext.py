"""Lint warns when free text goes `keep` to a recipient that gets people pseudonymised."""

from __future__ import annotations

from typing import Any

from hub.agreements import Agreement
from hub.agreements.lint import Linter, Severity
from hub.agreements.lint_freetext import CODE
from tests.agreements.test_lint import by_id, linter, partnership, variant

__all__ = ["linter", "partnership"]  # fixtures shared with test_lint


def _msn(reference: list[Agreement], narrative: dict[str, Any] | None) -> Agreement:
    """police-msn (the subject a token, free text dropped) with another narrative clause."""
    base = by_id(reference, "police-msn")
    fields = [f.model_dump(mode="json", exclude_none=True) for f in base.fields]
    fields = [f for f in fields if f.get("tag") != "free-text"]
    if narrative is not None:
        fields.append(narrative)
    return variant(base, fields=fields)


def test_free_text_kept_for_a_pseudonymised_recipient_warns(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    a = _msn(reference_agreements, {"id": "story", "field": "narrative", "treatment": "keep"})
    found = [f for f in linter.lint([a]) if f.code == CODE]
    assert len(found) == 1
    assert found[0].severity is Severity.WARNING
    assert found[0].clause == "story"
    assert "narrative" in found[0].message and "redact-check police-msn" in found[0].fix


def test_free_text_redacted_or_dropped_is_quiet(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    redacted = _msn(
        reference_agreements, {"id": "story", "field": "narrative", "treatment": "redact"}
    )
    dropped = _msn(reference_agreements, None)
    assert all(f.code != CODE for f in linter.lint([redacted, dropped]))


def test_free_text_kept_for_an_identified_recipient_is_quiet(
    linter: Linter, reference_agreements: list[Agreement]
) -> None:
    """The Liverpool MASH is told who the child is; the narrative adds no re-identification."""
    mash = by_id(reference_agreements, "police-liverpool-mash")
    assert all(f.code != CODE for f in linter.lint([mash]))
