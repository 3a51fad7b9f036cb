"""Promise (issue 15 item 1), on the real broker, as reported: every record that reaches a
recipient has exactly one decision in the audit that matches what was sent.

The report: a Liverpool child withheld from the Liverpool MASH was re-sent at HIGH risk under
the same event id; the MASH stored and receipted it while the audit still said withheld. And a
fire record reusing a police event id was missing from the audit entirely. Here the re-send
comes after a processor restart (the ledger is what hub.events.v1 holds), with a plain
duplicate of the original beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from connectors.synthetic.samples import SampleGenerator
from hub.catalogue import partner_topic, share_topic
from hub.catalogue.topics import EVENTS_TOPIC
from tests.integration.helpers import Pipeline, sink_running, wait_for
from tests.processor.conftest import county_lines_child

pytestmark = pytest.mark.integration

POLICE, FIRE, MASH = "merseyside-police", "merseyside-fire", "liverpool-mash"
CONCERN, SAFE_AND_WELL = "safeguarding-concern", "safe-and-well-referral"
REUSED_ID = "a7e51c0d-5a1e-4b1d-9c3e-15a7e0000001"


def liverpool_child(risk: str) -> dict[str, Any]:
    event = county_lines_child()
    event["envelope"]["event_id"] = REUSED_ID
    event["risk_level"] = risk
    return event


def fire_referral(fire_type: Any) -> dict[str, Any]:
    event = SampleGenerator(fire_type, FIRE, seed=11).next_event()
    event["envelope"]["event_id"] = REUSED_ID  # the police event's id, by another partner
    event["borough"] = "LIVERPOOL"
    event["occupier_consent"] = True
    return event


@pytest.fixture(scope="module")
def run(module_pipeline: Callable[..., Pipeline], catalogue: Any) -> dict[str, Any]:
    pipeline = module_pipeline("reuse", consumer_group="hub-processor-reuse")
    concern, fire = catalogue.get(CONCERN), catalogue.get(SAFE_AND_WELL)
    pipeline.create_topics(
        partner_topic(POLICE, CONCERN),
        partner_topic(FIRE, SAFE_AND_WELL),
        EVENTS_TOPIC,
        share_topic(MASH, CONCERN),
        share_topic(MASH, SAFE_AND_WELL),
    )
    police = pipeline.publisher(POLICE, concern)
    fire_pub = pipeline.publisher(FIRE, fire)
    sink = pipeline.sink(MASH)
    try:
        with sink_running(sink):
            police.publish(liverpool_child("LOW"))  # withheld from the Liverpool MASH
            fire_pub.publish(fire_referral(fire))  # shared with it: another partner's event
            police.flush()
            fire_pub.flush()
            pipeline.process(2)
            # A restarted instance: the re-send at HIGH risk under the same id, and a plain
            # duplicate of the original.
            police.publish(liverpool_child("HIGH"))
            police.publish(liverpool_child("LOW"))
            police.flush()
            pipeline.process(2)
            wait_for(lambda: sink.count() >= 1, 60, "the MASH sink")
            time.sleep(2.0)  # a disclosure that should not exist would arrive now
    finally:
        police.close()
        fire_pub.close()
    result = {"sink": sink.rows(), **pipeline.audit()}
    sink.close()
    return result


def test_every_record_that_reaches_a_recipient_has_exactly_one_matching_decision(
    run: dict[str, Any],
) -> None:
    shared = {d["disclosure_id"]: d for d in run["decisions"] if d["outcome"] == "shared"}
    mash_shared = {k: d for k, d in shared.items() if d["recipient"] == MASH}
    receipts = {r["disclosure_id"] for r in run["receipts"] if r["recipient"] == MASH}
    rows = {r["disclosure_id"]: r for r in run["sink"]}
    assert set(rows) == receipts == set(mash_shared)
    [(disclosure, row)] = rows.items()
    decision = mash_shared[disclosure]
    assert decision["provider"] == FIRE and row["event_type"] == SAFE_AND_WELL
    assert row["agreement"] == f"{decision['agreement_id']}@v{decision['agreement_version']}"
    assert run["conflicts"] == []
    assert run["verify"].ok, run["verify"].problems


def test_liverpool_child_resent_at_high_risk_under_a_reused_id_is_an_event_id_reused_dead_letter(
    run: dict[str, Any],
) -> None:
    [dead] = run["dead_letters"]
    assert dead["reason_code"] == "event-id-reused" and dead["partner"] == POLICE
    assert REUSED_ID in dead["reason"] and "revision" in dead["fix"]
    police_mash = [
        d for d in run["decisions"] if d["provider"] == POLICE and d["recipient"] == MASH
    ]
    [withheld] = police_mash  # the duplicate was the same decision, stored once
    assert withheld["outcome"] == "withheld", "the audit says what the MASH did (not) get"


def test_fire_record_reusing_a_police_event_id_is_audited_as_its_own_event(
    run: dict[str, Any],
) -> None:
    fire = [d for d in run["decisions"] if d["provider"] == FIRE]
    police = [d for d in run["decisions"] if d["provider"] == POLICE]
    assert fire and police
    assert {d["event_id"] for d in fire} == {d["event_id"] for d in police} == {REUSED_ID}
    assert not {d["decision_id"] for d in fire} & {d["decision_id"] for d in police}
    assert all(d["content_digest"] for d in run["decisions"])
