"""The shipped linkage rules on crafted sequences: exactly which alerts fire, which do not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from hub.analytics.core import Analytics, Intake
from hub.analytics.linkage import alert_id
from hub.analytics.rules import AlertRule, load_rules
from hub.privacy.keys import PseudonymKey
from tests.analytics import builders as b
from tests.analytics.builders import ADULT, CHILD, NOMINAL, OTHER_CHILD, T0, days

KEY = PseudonymKey("analytics", "k1", b"k" * 32)
AUDIT = PseudonymKey("audit", "k1", b"a" * 32)
RULES = load_rules(b.ROOT / "partnership" / "alerts")
MISSING, REPEATED, IOM = (
    "missing-child-exploitation",
    "repeated-concerns-multi-agency",
    "iom-nominal-domestic-abuse",
)


class Run:
    """The analytics over dict state, as the faust tables hold it."""

    def __init__(self, rules: Sequence[AlertRule] = RULES) -> None:
        self.intake = Intake(rules, KEY, AUDIT)
        self.analytics = Analytics(rules)
        self.state: tuple[dict[str, Any], ...] = ({}, {}, {}, {})
        self.alerts: list[tuple[str, tuple[str, ...]]] = []

    def feed(self, *events: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
        raised = []
        for e in events:
            slug = e["envelope"]["event_type"]
            partner = e["envelope"]["source_partner"]
            for msg in self.intake.messages(e, b.event_type(slug), partner):
                for m in self.analytics.apply(msg, *self.state).matches:
                    raised.append((m.rule.id, tuple(sorted(o.event_id for o in m.events))))
        self.alerts.extend(raised)
        return raised


def ids(*events: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(str(e["envelope"]["event_id"]) for e in events))


def at(n: float) -> datetime:
    return T0 + days(n)


# -- missing child + CCE / county lines concern, different agencies, 28 days


def test_missing_child_and_cce_from_two_agencies_within_28_days_alerts() -> None:
    m = b.missing(CHILD, at(0))
    c = b.concern(CHILD, at(27.9), "liverpool-cc", "CCE")
    assert Run().feed(m, c) == [(MISSING, ids(m, c))]


def test_order_of_arrival_does_not_matter() -> None:
    m = b.missing(CHILD, at(10))
    c = b.concern(CHILD, at(0), "liverpool-cc", "COUNTY_LINES")
    assert Run().feed(m, c) == [(MISSING, ids(m, c))]


def test_just_outside_28_days_does_not_alert() -> None:
    m = b.missing(CHILD, at(0))
    c = b.concern(CHILD, at(28.01), "liverpool-cc", "CCE")
    assert Run().feed(m, c) == []


def test_same_agency_does_not_alert() -> None:
    m = b.missing(CHILD, at(0))
    c = b.concern(CHILD, at(1), "merseyside-police", "CCE")
    assert Run().feed(m, c) == []


def test_other_category_or_other_child_or_adult_does_not_alert() -> None:
    assert (
        Run().feed(b.missing(CHILD, at(0)), b.concern(CHILD, at(1), "liverpool-cc", "NEGLECT"))
        == []
    )
    assert (
        Run().feed(b.missing(CHILD, at(0)), b.concern(OTHER_CHILD, at(1), "liverpool-cc", "CCE"))
        == []
    )
    assert Run().feed(b.missing(ADULT, at(0)), b.concern(ADULT, at(1), "liverpool-cc", "CCE")) == []


def test_identity_normalised_across_partners() -> None:
    # The council records the name in capitals with spaces: the same child all the same.
    m = b.missing(CHILD, at(0))
    c = b.concern(CHILD, at(2), "liverpool-cc", "CCE")
    c["subject"]["given_name"] = "  AVA "
    c["subject"]["family_name"] = "TESTCHILD"
    assert Run().feed(m, c) == [(MISSING, ids(m, c))]


# -- three concerns, two agencies, 30 days


def test_three_concerns_from_two_agencies_within_30_days_alert_once() -> None:
    c1 = b.concern(ADULT, at(0), "merseyside-police")
    c2 = b.concern(ADULT, at(10), "merseyside-police")
    c3 = b.concern(ADULT, at(29), "nhs-cm")
    run = Run()
    assert run.feed(c1, c2) == []
    assert run.feed(c3) == [(REPEATED, ids(c1, c2, c3))]
    # A fourth concern is not a new alert on the same events.
    assert run.feed(b.concern(ADULT, at(29.5), "liverpool-cc")) == []


def test_three_concerns_from_one_agency_do_not_alert() -> None:
    run = Run()
    assert run.feed(*(b.concern(ADULT, at(i), "merseyside-police") for i in range(5))) == []


def test_concerns_spread_over_more_than_30_days_do_not_alert() -> None:
    c1 = b.concern(ADULT, at(0), "merseyside-police")
    c2 = b.concern(ADULT, at(15), "nhs-cm")
    c3 = b.concern(ADULT, at(30.01), "merseyside-police")
    assert Run().feed(c1, c2, c3) == []


def test_two_concerns_do_not_alert() -> None:
    assert (
        Run().feed(b.concern(ADULT, at(0), "merseyside-police"), b.concern(ADULT, at(1), "nhs-cm"))
        == []
    )


# -- IOM nominal as perpetrator of domestic abuse


def test_iom_nominal_named_as_perpetrator_alerts() -> None:
    c = b.cohort(NOMINAL, at(0), "ENTERED")
    d = b.domestic(ADULT, NOMINAL, at(100))
    assert Run().feed(c, d) == [(IOM, ids(c, d))]


def test_iom_nominal_as_victim_or_after_leaving_does_not_alert() -> None:
    assert Run().feed(b.cohort(NOMINAL, at(0)), b.domestic(NOMINAL, ADULT, at(5))) == []
    run = Run()
    assert (
        run.feed(
            b.cohort(NOMINAL, at(0)),
            b.cohort(NOMINAL, at(3), "LEFT"),
            b.domestic(ADULT, NOMINAL, at(5)),
        )
        == []
    )


def test_iom_window_is_a_year() -> None:
    assert Run().feed(b.cohort(NOMINAL, at(0)), b.domestic(ADULT, NOMINAL, at(366))) == []


# -- state: duplicates and redelivery


def test_redelivered_events_raise_nothing_again() -> None:
    m = b.missing(CHILD, at(0))
    c = b.concern(CHILD, at(3), "liverpool-cc", "CCE")
    run = Run()
    assert len(run.feed(m, c)) == 1
    assert run.feed(m, c) == []
    assert len(run.alerts) == 1


def test_alert_id_is_deterministic_and_order_free() -> None:
    assert alert_id("r", ["b", "a"]) == alert_id("r", ["a", "b", "a"])
    assert alert_id("r", ["a", "b"]) != alert_id("s", ["a", "b"])


def test_state_holds_tokens_and_codes_only() -> None:
    run = Run()
    run.feed(b.missing(CHILD, at(0)), b.concern(CHILD, at(3), "liverpool-cc", "CCE"))
    text = repr(run.state)
    for secret in ("Ava", "Testchild", "2011-03-04", "2011"):
        assert secret not in text
    assert "tok.analytics.k1." in text


@pytest.mark.parametrize("n", [5, 8])
def test_every_event_contributes_to_one_alert_per_rule(n: int) -> None:
    run = Run()
    partners = ["merseyside-police", "nhs-cm"]
    run.feed(*(b.concern(ADULT, at(i), partners[i % 2]) for i in range(n)))
    used = [e for _r, events in run.alerts for e in events]
    assert len(used) == len(set(used))
    assert len(run.alerts) == n // 3


def test_a_council_referral_for_criminal_exploitation_completes_the_picture() -> None:
    m = b.missing(CHILD, at(0))
    r = b.referral(CHILD, at(5), categories=("MISSING", "CHILD_CRIMINAL_EXPLOITATION"))
    assert Run().feed(m, r) == [(MISSING, ids(m, r))]
    other = b.referral(OTHER_CHILD, at(5), categories=("NEGLECT",))
    assert Run().feed(b.missing(OTHER_CHILD, at(0)), other) == []


def test_concerns_and_referrals_count_together() -> None:
    c1 = b.concern(ADULT, at(0), "merseyside-police")
    c2 = b.concern(ADULT, at(3), "merseyside-police")
    r = b.referral(ADULT, at(6))
    assert Run().feed(c1, c2, r) == [(REPEATED, ids(c1, c2, r))]


def test_another_partner_reusing_an_event_id_neither_merges_nor_suppresses_an_alert() -> None:
    # Event ids are unique within a partner's events only (issue 15 item 1). Before, a
    # probation record about the same person sent first with the id of a police concern made
    # the concern look like a redelivery when it came: it was dropped and the alert it
    # completes was never raised.
    c1 = b.concern(ADULT, at(0), "merseyside-police")
    squatter = b.cohort(ADULT, at(1))
    squatter["envelope"]["source_partner"] = "probation-nw"
    squatter["envelope"]["event_id"] = c1["envelope"]["event_id"]
    c2 = b.concern(ADULT, at(10), "merseyside-police")
    c3 = b.concern(ADULT, at(29), "nhs-cm")
    run = Run()
    assert run.feed(squatter, c1, c2) == []
    assert run.feed(c3) == [(REPEATED, ids(c1, c2, c3))]
