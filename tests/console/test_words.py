"""The console speaks an IG officer's language: reasons and conditions in the same English,
display names for partners and recipients, terms of art explained, no internal jargon."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.agreements import load_agreements
from hub.agreements.partnership import load_partnership
from hub.catalogue import Catalogue
from hub.console.words import (
    Names,
    agreements_by_version,
    explain,
    reason_in_words,
    retention_words,
)
from hub.policy.engine import PolicyEngine
from tests.audit.test_queries import decision
from tests.console.conftest import Console, login

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = agreements_by_version(load_agreements(ROOT / "partnership" / "agreements"))


def test_a_false_condition_reads_as_the_agreement_page_words_it() -> None:
    a = AGREEMENTS[("police-liverpool-mash", 1)]
    reason = f"condition of {a.ref} is false: {a.condition}"
    words = reason_in_words(reason, AGREEMENTS)
    assert words == (
        "not shared: “Merseyside Police to Liverpool MASH - safeguarding concerns about"
        " children” (version 1) shares only when the subject is known to be under 18, the"
        " subject lives in Liverpool and the risk level is medium or high, and this event did"
        " not meet that"
    )
    assert "has(" not in words and "&&" not in words


def test_every_reason_the_engine_writes_is_put_into_words(catalogue: Catalogue) -> None:
    """Decide real synthetic events under the reference agreements: no reason on any decision
    is left with CEL or an internal reference in it."""
    from connectors.synthetic.police import PoliceFeed

    engine = PolicyEngine(list(AGREEMENTS.values()))
    concern = catalogue.event_types["safeguarding-concern"]
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    reasons = {
        d.reason
        for e in PoliceFeed(seed=3).events(200)
        for d in engine.decide(e, concern, "merseyside-police", now)
    }
    assert len(reasons) > 3
    for reason in reasons:
        words = reason_in_words(reason, AGREEMENTS)
        assert not re.search(r"@v\d|&&|\|\||has\(|event\.|facts\.", words), (reason, words)


def test_every_agreements_reasons_are_in_words(catalogue: Catalogue) -> None:
    """The same, for every reference agreement's provider and event type (sample events)."""
    from connectors.synthetic.samples import sample_events

    engine = PolicyEngine(list(AGREEMENTS.values()))
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    seen = 0
    for a in AGREEMENTS.values():
        for provider in a.providers:
            for slug in a.event_types:
                event_type = catalogue.event_types.get(slug)
                if event_type is None:
                    continue
                for e in sample_events(event_type, provider, 30, seed=7):
                    for d in engine.decide(e, event_type, provider, now):
                        words = reason_in_words(d.reason, AGREEMENTS)
                        seen += 1
                        assert not re.search(r"@v\d|&&|\|\||has\(|event\.|facts\.", words), (
                            d.reason,
                            words,
                        )
    assert seen > 200


def test_several_agreements_and_other_forms() -> None:
    a, b = AGREEMENTS[("police-msn", 1)], AGREEMENTS[("police-liverpool-mash", 1)]
    reason = (
        f"condition of {a.ref} is false: {a.condition}; agreement {b.ref} expired on 2026-01-01"
    )
    words = reason_in_words(reason, AGREEMENTS).split("; ")
    assert words[0].startswith("not shared: “Merseyside Police to Modern Slavery Network")
    assert "the concern is about child criminal exploitation (CCE)" in words[0]
    assert words[1] == (
        "agreement “Merseyside Police to Liverpool MASH - safeguarding concerns about children”"
        " (version 1) expired on 2026-01-01"
    )
    assert reason_in_words("allowed by police-msn@v1", AGREEMENTS).startswith("shared under “")
    # Not an agreement (an alert rule): left as recorded.
    assert reason_in_words("rule x-rule@v1 fired", AGREEMENTS) == "rule x-rule (version 1) fired"
    # A condition of a version the console does not have: still in words.
    gone = reason_in_words('condition of gone@v9 is false: event.borough == "WIRRAL"', {})
    assert gone.endswith("gone version 9 shares only when the borough recorded on the event"
                         " is Wirral, and this event did not meet that")  # fmt: skip


def test_names_retention_and_hover_explanations() -> None:
    names = Names.of(load_partnership(ROOT / "partnership"))
    assert names("liverpool-mash") == "Liverpool Multi-Agency Safeguarding Hub"
    assert names("merseyside-police") == "Merseyside Police"
    assert names("unknown-x") == "unknown-x" and names(None) == ""
    assert retention_words("P6Y") == "6 years"
    assert retention_words("P1Y6M") == "1 year and 6 months"
    assert retention_words("six years") == "six years"
    assert str(explain("DPO")) == '<abbr title="Data Protection Officer">DPO</abbr>'
    assert str(explain("<b>")) == "&lt;b&gt;"  # escaped, never markup


JARGON = ("token", "linkage domain", "magic byte", "dead letter", "@v1", "has(facts")


def _visible(html: str) -> str:
    """The text an officer reads: tags, and the raw rule behind a <details>, left out."""
    html = re.sub(r"<details.*?</details>", "", html, flags=re.S)
    html = re.sub(r"<(script|style).*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_pages_use_names_english_and_no_jargon(console: Console) -> None:
    store = console.app_state.store
    a = AGREEMENTS[("police-liverpool-mash", 1)]
    withheld = dataclasses.replace(
        decision("w1", "e20", "knowsley-mash", "withheld", "2026-11-06T09:00:00+00:00",
                 agreement="police-knowsley-mash"),
        reason=f"condition of police-knowsley-mash@v1 is false: {a.condition}",
        agreement_version=1, legal_basis="6(1)(e) public task",
    )  # fmt: skip
    store.write_decisions([withheld])
    officer = login(console.client(), "officer")
    # A subject report first: the access log must not show its pseudonyms ("tokens").
    from tests.console.conftest import csrf

    officer.post("/subjects", data={"given_name": "Jordan", "family_name": "O'Neill",
                                    "csrf_token": csrf(officer, "/subjects")})  # fmt: skip
    page = officer.get("/decisions/w1").text
    seen = _visible(page)
    assert "Knowsley Multi-Agency Safeguarding Hub" in seen
    assert "shares only when the subject is known to be under 18" in seen
    assert "Disclosed by" not in seen and "Legal basis" not in seen  # nothing was disclosed
    # The rule as recorded, one click away.
    assert a.condition and a.condition in html.unescape(page)
    for path in ("/activity", "/decisions", "/agreements", "/agreements/police-liverpool-mash",
                 "/subjects", "/consultations", "/decisions/w1"):  # fmt: skip
        seen = _visible(officer.get(path).text).lower()
        for word in JARGON:
            assert word not in seen, (path, word)
    agreement = officer.get("/agreements/police-liverpool-mash").text
    assert "The subject is known to be under 18, the subject lives in Liverpool" in agreement
    assert "Liverpool City Council" in agreement and "6 years" in agreement


@pytest.mark.parametrize("path", ["/decisions", "/activity?from=2026-11-01&to=2026-11-30"])
def test_partner_and_recipient_ids_do_not_show_where_names_exist(
    console: Console, path: str
) -> None:
    officer = login(console.client(), "officer")
    seen = _visible(officer.get(path).text)
    assert "Liverpool Multi-Agency Safeguarding Hub" in seen
    assert not re.search(r"(?<![\w-])(liverpool-mash|merseyside-police)(?![\w-])", seen)


def test_the_access_log_says_what_was_looked_at_in_words() -> None:
    from hub.console.words import target_words

    said = target_words('{"identifiers": ["date_of_birth", "given_name"], "tokens": ["hub.t.x"]}')
    assert said == "a person, searched by date of birth and given name"
    assert target_words('{"decision_id": "d1"}') == "decision id d1"
    assert target_words("not json") == "not json"
