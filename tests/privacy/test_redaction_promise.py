"""Redaction removes third parties' names, through the real NRM agreement and the transform.

Issue 15 item 3: the NRM ``account`` field, which ``police-msn-nrm`` marks ``redact``, reached
the Modern Slavery Network with "... says his boss Quentin Canarybrook keeps his passport".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.synthetic.generator import PartnershipGenerator
from hub.agreements import Agreement
from hub.catalogue import Catalogue, EventType
from hub.policy import PolicyEngine
from hub.privacy import Transformer
from hub.privacy.keys import LocalKeyProvider
from hub.privacy.redact import REDACTED

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def nrm_type(catalogue: Catalogue) -> EventType:
    et = catalogue.get("modern-slavery-referral")
    assert et is not None
    return et


def _nrm_referral(catalogue: Catalogue) -> dict[str, Any]:
    """A synthetic NRM referral (a child, or a consenting adult) from the partnership feed."""
    gen = PartnershipGenerator(catalogue, seed=3)
    for _ in range(200):
        e = gen.event("merseyside-police", "modern-slavery-referral").event
        if e["referral_kind"] == "NRM_REFERRAL":
            return e
    raise AssertionError("the generator made no NRM referral in 200 tries")


def _msn_account(
    account: str,
    catalogue: Catalogue,
    nrm_type: EventType,
    agreements: list[Agreement],
    keys: LocalKeyProvider,
) -> tuple[str, dict[str, Any]]:
    event = _nrm_referral(catalogue)
    event["account"] = account.format(**event["potential_victim"])
    shared = [
        d
        for d in PolicyEngine(agreements).decide(event, nrm_type, "merseyside-police", NOW)
        if d.shared and d.recipient == "modern-slavery-network"
    ]
    assert [d.agreement_id for d in shared] == ["police-msn-nrm"]
    assert shared[0].plan is not None
    out = Transformer(keys).apply(shared[0].plan, event, nrm_type)
    return out["account"], event


def test_redaction_removes_third_party_names(
    catalogue: Catalogue,
    nrm_type: EventType,
    reference_agreements: list[Agreement],
    keys: LocalKeyProvider,
) -> None:
    account, event = _msn_account(
        "{given_name} says his boss Quentin Canarybrook keeps his passport and that "
        "quentin's brother, known as 'Smudge', drives her to work in a white van, AB12 CDE.",
        catalogue,
        nrm_type,
        reference_agreements,
        keys,
    )
    for leaked in ("Quentin", "quentin", "Canarybrook", "Smudge", "AB12", "CDE"):
        assert leaked not in account, account
    assert event["potential_victim"]["given_name"] not in account
    # What is not identifying stays readable for the network.
    assert "keeps his passport" in account
    assert REDACTED in account


def test_redaction_removes_every_kind_of_identifier_through_the_plan(
    catalogue: Catalogue,
    nrm_type: EventType,
    reference_agreements: list[Agreement],
    keys: LocalKeyProvider,
) -> None:
    account, _ = _msn_account(
        "Her sister Rose (dob 3rd of April 2009, NHS 943 476 5919) lives at 14 Elm Road, "
        "Bootle L20 3AB; call 07700 900123 or rose.k@example.org. PNC 11/123456X, "
        "NI AB 12 34 56 C. Frank told officers hope smith-jones collects the wages.",
        catalogue,
        nrm_type,
        reference_agreements,
        keys,
    )
    for leaked in (
        "Rose",
        "2009",
        "943",
        "5919",
        "14 Elm",
        "Elm Road",
        "L20",
        "3AB",
        "07700",
        "example.org",
        "123456X",
        "AB 12",
        "Frank",
        "hope",
        "smith",
        "jones",
    ):
        assert leaked not in account, (leaked, account)
