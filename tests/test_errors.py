"""The reason codes a partner can meet are stable, distinct and documented where partners
read them: a dead letter's ``hub.dlq.reason_code`` in docs/partners/connect.md, a
connector's reject code in docs/partners/connectors.md."""

from __future__ import annotations

import re

import pytest

import connectors.base.source
import hub.processor.corrections
import hub.processor.deadletter
from connectors.base.errors import MissingColumn, RecordRejected
from hub.errors import EventIdReused, InputRejected, MalformedRecord, Rejected, Terminal
from tests.conftest import ROOT

# The modules that declare reasons, imported for their subclasses.
assert connectors.base.source and hub.processor.corrections and hub.processor.deadletter


def _reasons(base: type[Rejected]) -> dict[str, str]:
    """code -> class name of every reason the hub and connectors declare under ``base``."""
    out: dict[str, str] = {}
    todo = list(base.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith(("hub.", "connectors.")):
            assert cls.code not in out, f"{cls.__name__} reuses {out.get(cls.code)}'s code"
            out[cls.code] = cls.__name__
    return out


def _table_codes(doc: str, heading: str) -> set[str]:
    """The codes in the first column of the table of ``heading`` (a header row naming it)."""
    text = (ROOT / "docs" / "partners" / doc).read_text()
    table = text[text.index(f"| {heading} |") :].split("\n\n", 1)[0]
    return set(re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("base", "doc", "heading"),
    [(InputRejected, "connect.md", "reason code"), (RecordRejected, "connectors.md", "code")],
)
def test_every_reason_a_partner_can_meet_is_documented(
    base: type[Rejected], doc: str, heading: str
) -> None:
    reasons = _reasons(base)
    assert "rejected" not in reasons, "a reason without its own code"
    undocumented = sorted(set(reasons) - _table_codes(doc, heading))
    assert not undocumented, f"add to docs/partners/{doc}: {undocumented}"


def test_a_code_given_by_keyword_or_attribute_is_the_instances_code() -> None:
    assert MalformedRecord("x").code == "malformed" and MissingColumn("x").code == "missing-column"
    reused = EventIdReused("seen before")
    assert reused.code == "event-id-reused" and reused.field == "envelope.event_id"
    assert isinstance(reused, Terminal) and reused.fix == EventIdReused.FIX
    assert hub.processor.deadletter.OperatorSkipped("x").code == "operator-skipped"
