"""Promise (issue 18), on the real broker: a correction reaches the recipient that holds the
event as an update, a correction that takes it out of the recipient's reach arrives as a
retraction notice, and a partner's retraction deletes the personal data at every recipient
that was sent it, each receipted and audited. Partner publishers, processor instances (one
restarted in between), the MASH's real SQL sink runner and the audit ingester."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from connectors.base.mapping import coerce_event
from connectors.base.retraction import retraction_of
from hub.catalogue import partner_topic, share_topic
from hub.catalogue.topics import EVENTS_TOPIC
from tests.integration.helpers import Pipeline, sink_running, wait_for
from tests.processor.conftest import county_lines_child

pytestmark = pytest.mark.integration

POLICE, MASH, CONCERN, RETRACTION = (
    "merseyside-police",
    "liverpool-mash",
    "safeguarding-concern",
    "event-retraction",
)
CORRECTED, AGED_OUT, WITHDRAWN = (
    "c0a2e1d0-0000-4000-8000-0000000000c1",
    "c0a2e1d0-0000-4000-8000-0000000000c2",
    "c0a2e1d0-0000-4000-8000-0000000000c3",
)


def child(event_id: str, revision: int, *, adult: bool = False, dob: date | None = None) -> Any:
    event = county_lines_child()
    event["envelope"]["event_id"] = event_id
    event["envelope"]["revision"] = revision
    if adult:
        event["subject"]["date_of_birth"] = date(2007, 5, 1)
    elif dob is not None:
        event["subject"]["date_of_birth"] = dob
    return event


@pytest.fixture(scope="module")
def run(module_pipeline: Callable[..., Pipeline], catalogue: Any) -> dict[str, Any]:
    pipeline = module_pipeline("corrections", consumer_group="hub-processor-corrections")
    pipeline.create_topics(
        partner_topic(POLICE, CONCERN),
        partner_topic(POLICE, RETRACTION),
        EVENTS_TOPIC,
        share_topic(MASH, CONCERN),
    )
    concerns = pipeline.publisher(POLICE, catalogue.get(CONCERN))
    retractions = pipeline.publisher(POLICE, catalogue.get(RETRACTION))
    sink = pipeline.sink(MASH)
    try:
        with sink_running(sink):
            for event_id in (CORRECTED, AGED_OUT, WITHDRAWN):
                concerns.publish(child(event_id, 1))
            concerns.flush()
            pipeline.process(3)
            wait_for(lambda: sink.count() >= 3, 60, "the three originals at the MASH")
            # A restarted instance knows who received what from hub.events.v1 alone.
            concerns.publish(child(CORRECTED, 2, dob=date(2012, 6, 1)))  # a mistyped date
            concerns.publish(child(AGED_OUT, 2, adult=True))  # the corrected age is 19
            concerns.publish(child(CORRECTED, 1))  # the original again, late: not re-shared
            concerns.flush()
            # As a source sends it (a web hook DELETE, a soft-deleted row).
            withdrawn = retraction_of(POLICE, WITHDRAWN, "WRONG_PERSON")
            retractions.publish(coerce_event(retractions.event_type, withdrawn, POLICE))
            retractions.flush()
            pipeline.process(4)
            wait_for(lambda: sink.count() >= 6, 60, "the update and the two notices")
            time.sleep(2.0)  # anything that should not arrive would arrive now
    finally:
        concerns.close()
        retractions.close()
    result = {
        "rows": sink.rows(),
        "held": sink.writer.held(),
        **pipeline.audit(),
    }
    sink.close()
    return result


def test_a_correction_updates_the_row_the_mash_holds_and_keeps_the_history(
    run: dict[str, Any],
) -> None:
    held = run["held"][(POLICE, CORRECTED)]
    assert (held["state"], held["revision"]) == ("current", 2)
    assert held["date_of_birth"] == "2012-06-01"
    history = sorted((r["revision"], r["state"]) for r in run["rows"] if r["event_id"] == CORRECTED)
    assert history == [(1, "superseded"), (2, "current")]
    assert run["dead_letters"] == [], "a late original that was decided before is skipped"


def test_a_correction_out_of_reach_and_a_retraction_leave_tombstones_only(
    run: dict[str, Any],
) -> None:
    for event_id, reason in ((AGED_OUT, "NO_LONGER_SHARED"), (WITHDRAWN, "WRONG_PERSON")):
        held = run["held"][(POLICE, event_id)]
        assert (held["state"], held["retraction_reason"]) == ("tombstone", reason)
        [erased] = [r for r in run["rows"] if r["event_id"] == event_id and r["state"] == "erased"]
        assert erased["record"] == "{}" and erased["person_name"] is None


def test_every_update_and_notice_is_audited_and_receipted(run: dict[str, Any]) -> None:
    mash = [d for d in run["decisions"] if d["recipient"] == MASH]
    notices = {d["event_id"]: d for d in mash if d["outcome"] == "retracted"}
    assert set(notices) == {AGED_OUT, WITHDRAWN}
    originals = {
        d["event_id"]: d["disclosure_id"]
        for d in mash
        if d["outcome"] == "shared" and d["revision"] == 1
    }
    for event_id, notice in notices.items():
        assert originals[event_id] in notice["reason"], "linked to what it withdraws"
    delivered = {r["disclosure_id"] for r in run["receipts"] if r["status"] == "delivered"}
    disclosures = {d["disclosure_id"] for d in mash if d["outcome"] in ("shared", "retracted")}
    assert disclosures <= delivered
    assert run["verify"].ok, run["verify"].problems
