"""Decision and disclosure identity (issue 15 item 1): provider, event id, content,
recipient and agreement version; nothing else, and each of them."""

from __future__ import annotations

from dataclasses import replace

from hub.policy.decision import Decision, Outcome, content_key, decision_id, disclosure_id

BASE = Decision(
    "a7e0c1d2-0000-4000-8000-000000000001",
    "safeguarding-concern",
    "merseyside-police",
    "liverpool-mash",
    Outcome.SHARED,
    "allowed by police-liverpool-mash@v1",
    "police-liverpool-mash",
    1,
    content="ab" * 32,
)


def test_each_part_of_the_identity_changes_both_ids() -> None:
    others = [
        replace(BASE, provider="merseyside-fire"),  # another partner's event, same id
        replace(BASE, content="cd" * 32),  # the same id with other content
        replace(BASE, event_id="a7e0c1d2-0000-4000-8000-000000000002"),
        replace(BASE, recipient="knowsley-mash"),
        replace(BASE, agreement_version=2),  # decided again under another version
    ]
    ids = {(d.decision_id, d.disclosure_id) for d in [BASE, *others]}
    assert len({i for i, _ in ids}) == len({j for _, j in ids}) == 6


def test_what_is_not_identity_leaves_the_ids() -> None:
    again = replace(BASE, reason="allowed (decided again after a restart)")
    assert (again.decision_id, again.disclosure_id) == (BASE.decision_id, BASE.disclosure_id)


def test_withheld_decisions_have_no_disclosure() -> None:
    withheld = replace(BASE, outcome=Outcome.WITHHELD)
    assert withheld.disclosure_id is None
    assert withheld.decision_id == BASE.decision_id  # the outcome is content, not identity


def test_with_content_is_replace_without_its_cost() -> None:
    bare = replace(BASE, content="")
    _ = bare.decision_id, bare.disclosure_id  # cached on the instance: must not be copied
    made = bare.with_content("ab" * 32)
    assert made == BASE
    assert (made.decision_id, made.disclosure_id) == (BASE.decision_id, BASE.disclosure_id)
    assert bare.decision_id != made.decision_id


def test_empty_content_keeps_the_earlier_ids() -> None:
    """Linkage alerts (ids derived from their events) decide with no content key: their ids
    are those of the release before provider and content were part of identity."""
    alert = replace(BASE, content="")
    assert alert.decision_id == decision_id(BASE.event_id, BASE.recipient)
    assert alert.disclosure_id == disclosure_id(
        BASE.event_id, BASE.recipient, "police-liverpool-mash", 1
    )


def test_a_declared_revision_is_the_content_key() -> None:
    assert content_key("ab" * 32) == "ab" * 32
    assert content_key("ab" * 32, revision=2) == "r2"
