"""Conditions: which event fields a condition reads, and that giving CEL only those fields
decides exactly as the whole event does."""

from __future__ import annotations

import cel

from connectors.synthetic.samples import sample_events
from hub.agreements import Agreement
from hub.catalogue import Catalogue
from hub.policy.conditions import compile_condition, referenced_fields
from hub.policy.facts import derive_facts, to_cel


def test_referenced_fields_are_found_or_the_whole_event_is_given() -> None:
    assert referenced_fields('event.borough == "X" && event .risk_level in ["HIGH"]') == {
        "borough",
        "risk_level",
    }
    assert referenced_fields("has(facts.subject_age) && facts.subject_age < 18") == frozenset()
    # `event` used whole, or in a string: fall back to the whole event.
    assert referenced_fields("size(event) > 3") is None
    assert referenced_fields('event.kind == "event"') is None


def test_partial_activation_decides_like_the_whole_event(
    reference_agreements: list[Agreement], catalogue: Catalogue
) -> None:
    """Every reference condition, on generated events of every type: the engine's reduced
    context gives the same verdict as the whole event converted."""
    checked = 0
    for a in reference_agreements:
        cond = compile_condition(a.condition)
        if cond is None or cond.event_fields is None:
            continue
        for slug in a.event_types:
            et = catalogue.get(slug)
            assert et is not None
            provider = a.providers[0] if a.providers else "hub"
            for e in sample_events(et, provider, 30, seed=4):
                facts = derive_facts(e, et)
                whole = {"event": to_cel(e), "facts": facts}
                ctx = cel.Context()
                view = {k: e[k] for k in cond.event_fields if k in e}
                ctx.update({"event": to_cel(view), "facts": facts})
                assert cond.holds(ctx) == cond.holds(whole)
                checked += 1
    assert checked > 100


def test_ids_are_rfc4122_uuid5() -> None:
    """The hand-rolled uuid5 (hot path) gives exactly uuid.uuid5's ids: stored ids of
    earlier releases stay valid idempotency keys."""
    import uuid

    from hub.policy.decision import _DISCLOSURE_NS, decision_id, disclosure_id

    assert decision_id("e1", "liverpool-mash") == str(
        uuid.uuid5(_DISCLOSURE_NS, "decision|e1|liverpool-mash")
    )
    assert disclosure_id("é", "msn", "a", 2) == str(uuid.uuid5(_DISCLOSURE_NS, "é|msn|a|2"))
