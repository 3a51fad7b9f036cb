"""Audit records on hub.audit.v1: one decision, or a processor batch's decisions together."""

from __future__ import annotations

import pytest

from hub.audit.ingest import parse
from hub.audit.records import DECISION, DECISIONS, AuditRecord, decisions_json
from hub.catalogue import AUDIT_TOPIC
from tests.audit.test_store import record


def test_a_decisions_record_parses_to_every_decision_it_holds() -> None:
    rows = [record(f"d{i}") for i in range(5)]
    parsed = parse(AUDIT_TOPIC, decisions_json(rows), DECISIONS)
    assert parsed == rows
    assert all(isinstance(p, AuditRecord) for p in parsed)


def test_each_decision_in_a_batch_record_is_the_same_json_as_alone() -> None:
    """The hash chain is computed from stored fields; the two encodings must agree."""
    rows = [record("d1"), record("d2")]
    single = [parse(AUDIT_TOPIC, r.to_json(), DECISION)[0] for r in rows]
    assert parse(AUDIT_TOPIC, decisions_json(rows), DECISIONS) == single


@pytest.mark.parametrize("raw", [b'{"decision_id": "x"}', b"[1, 2]", b"not json"])
def test_a_malformed_decisions_record_is_refused(raw: bytes) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse(AUDIT_TOPIC, raw, DECISIONS)
