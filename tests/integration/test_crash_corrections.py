"""Crash test for corrections and retractions (issue 18): `hub process --ingest` is
SIGKILLed while the police send revisions and retractions of events already shared, and
restarted each time. Afterwards no retraction is lost: every recipient that was ever sent a
revision of a retracted event has a retraction notice in the audit, delivered and receipted,
and its case system holds a tombstone, never the personal data; every other event's row in a
case system is the latest revision the audit says that recipient was sent."""

from __future__ import annotations

import copy
import random
import time
from collections import defaultdict
from typing import Any

import pytest

from connectors.base.mapping import coerce_event
from connectors.base.publisher import PartnerPublisher
from connectors.base.retraction import RETRACTION, retraction_of
from connectors.synthetic.police import PoliceFeed
from hub.audit.store import AuditStore
from hub.catalogue import EventType, partner_topic, share_topic
from hub.catalogue.schemas import load_catalogue
from tests.case_systems import CaseSystem
from tests.integration.helpers import POLICE, Pipeline, Workers, wait_for
from tests.integration.services import HubProcess, wait_for_progress
from tests.integration.test_crash import CANDIDATES

pytestmark = pytest.mark.integration

EVENTS = 1500
REVISED = 500  # events[:500] get a revision 2 (half of them move out of Liverpool)
RETRACTED = range(300, 800)  # overlapping the revised ones: retracted after a revision
KILLS = 3
SEED = 20261205


def _revision(event: dict[str, Any], i: int) -> dict[str, Any]:
    revised = copy.deepcopy(event)
    revised["envelope"]["revision"] = 2
    if i % 2 == 0:  # a corrected address: a recipient that may no longer have it is notified
        revised["borough"] = "WIRRAL" if event["borough"] != "WIRRAL" else "LIVERPOOL"
    else:
        revised["risk_level"] = "HIGH"
    return revised


def _publish_paced(
    publisher: PartnerPublisher, events: list[dict[str, Any]], chunk: int = 100, pause: float = 0.3
) -> None:
    for start in range(0, len(events), chunk):
        for e in events[start : start + chunk]:
            publisher.publish(e)
        publisher.flush()
        time.sleep(pause)


def test_sigkill_loses_no_retraction(
    pipeline: Pipeline, concern_type: EventType, hub_process: HubProcess
) -> None:
    started = time.monotonic()
    service = hub_process
    pipeline.create_topics(
        partner_topic(POLICE, "safeguarding-concern"),
        partner_topic(POLICE, RETRACTION),
        *(share_topic(r, "safeguarding-concern") for r in CANDIDATES),
    )
    concerns = pipeline.publisher(POLICE, concern_type)
    retraction_type = load_catalogue(pipeline.settings.schemas_dir).get(RETRACTION)
    assert retraction_type is not None
    retractions = pipeline.publisher(POLICE, retraction_type)
    service.start()
    events = PoliceFeed(seed=SEED).events(EVENTS)
    sinks = pipeline.sinks(CANDIDATES)
    workers = Workers()
    workers.run_sinks(sinks.values())
    audit = pipeline.audit_store()
    retracted_ids = {events[i]["envelope"]["event_id"] for i in RETRACTED}
    try:
        _publish_paced(concerns, events)
        concerns.flush()
        _wait(lambda: audit.count_decisions() >= len(CANDIDATES) * EVENTS, 120, "originals")
        # Revisions and retractions flow while the processor is killed and restarted.
        later = [_revision(e, i) for i, e in enumerate(events[:REVISED])]
        pulls = [
            coerce_event(
                retraction_type, retraction_of(POLICE, events[i]["envelope"]["event_id"],
                                               "WRONG_PERSON"), POLICE
            )
            for i in RETRACTED
        ]  # fmt: skip

        def flow() -> None:  # ~50 s: the kills (a restart takes 4-19 s here) fall inside it
            _publish_paced(concerns, later, 10, 0.5)
            _publish_paced(retractions, pulls, 10, 0.5)

        sender = workers.start(flow, "sender")
        rng = random.Random(SEED)
        for _ in range(KILLS):
            if sender.is_alive():  # else there is nothing left to make progress on
                wait_for_progress(audit, service)
            time.sleep(rng.uniform(0.1, 1.5))
            service.kill()
            service.start()
        killed_at = time.monotonic() - started
        sender.join(120)
        assert not sender.is_alive()
        workers.check()
        flow_end = time.monotonic() - started
        concerns.flush()
        retractions.flush()
        _wait(lambda: _notified(audit, retracted_ids), 150, "every notice in the audit")
        _wait(lambda: _settled(audit, sinks), 90, "sinks and receipts caught up")
        code, _took = service.stop(timeout=30)
        assert code == 0, service.tail()
    finally:
        service.close()
        workers.join()
        concerns.close()
        retractions.close()
    workers.check()
    problems = _problems(audit, sinks, retracted_ids)
    assert not problems, problems[:20]
    notices = audit.count_decisions("retracted")
    assert notices > 0
    print(
        f"\ncrash test (corrections): {EVENTS} events, {REVISED} revised, {len(RETRACTED)} "
        f"retracted, {service.lives} starts (last kill at {killed_at:.1f}s, flow ended at "
        f"{flow_end:.1f}s), {notices} notices, {time.monotonic() - started:.1f}s"
    )
    for s in sinks.values():
        s.close()
    audit.close()


def _wait(cond: Any, timeout: float, what: str) -> None:
    """Polled every half second: each poll reads every decision of the audit store."""
    wait_for(cond, timeout, what, poll=0.5)


def _reached(audit: AuditStore) -> dict[tuple[str, str], list[dict[str, Any]]]:
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in audit.all_decisions():
        if d["outcome"] in ("shared", "retracted"):
            by[(d["event_id"], d["recipient"])].append(d)
    return by


def _notified(audit: AuditStore, retracted: set[str]) -> bool:
    """Every (retracted event, recipient ever sent it) has its notice in the audit."""
    reached = _reached(audit)
    return (
        all(
            any(d["outcome"] == "retracted" for d in ds)
            for (event, _r), ds in reached.items()
            if event in retracted
        )
        and sum(1 for e, _r in reached if e in retracted) > 0
    )


def _settled(audit: AuditStore, sinks: dict[str, CaseSystem]) -> bool:
    reached = _reached(audit)
    delivered = {r["disclosure_id"] for r in audit.all_receipts() if r["status"] == "delivered"}
    for ds in reached.values():
        if any(d["disclosure_id"] not in delivered for d in ds):
            return False
    per: dict[str, int] = defaultdict(int)
    for (_e, recipient), ds in reached.items():
        per[recipient] += len(ds)
    return all(sinks[r].count() >= n for r, n in per.items())


def _problems(audit: AuditStore, sinks: dict[str, CaseSystem], retracted: set[str]) -> list[str]:
    problems: list[str] = []
    held = {r: s.writer.held() for r, s in sinks.items()}
    for (event, recipient), ds in _reached(audit).items():
        row = held[recipient].get((POLICE, event))
        if row is None:
            problems.append(f"{recipient} holds nothing of {event}, though it was sent it")
            continue
        rank = max(((d["revision"] or 1), d["outcome"] == "retracted") for d in ds)
        tops = [d for d in ds if ((d["revision"] or 1), d["outcome"] == "retracted") == rank]
        top = tops[0]
        if event in retracted and not any(d["outcome"] == "retracted" for d in ds):
            problems.append(f"retraction of {event} lost for {recipient}")
        if top["outcome"] == "retracted":  # two notices may share a rank: either is the tomb
            if row["state"] != "tombstone" or row["disclosure_id"] not in {
                d["disclosure_id"] for d in tops
            }:
                problems.append(f"{recipient} holds {row['state']} of {event}, not the tombstone")
        elif row["disclosure_id"] != top["disclosure_id"] or row["state"] != "current":
            problems.append(
                f"{recipient} holds {row['disclosure_id']} ({row['state']}) of {event}, "
                f"the audit's last is {top['disclosure_id']}"
            )
    for recipient, rows in held.items():
        for (_p, event), row in rows.items():
            if event in retracted and row["state"] == "current":
                problems.append(f"{recipient} still holds personal data of retracted {event}")
    return problems
