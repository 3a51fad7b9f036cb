"""Promise (issue 18): corrections and retractions reach every recipient that was sent the
event (UK GDPR Art 19), whatever partners resend and the processor redelivers after a crash.

Each recipient's sink ends holding exactly the latest revision it may receive, or a tombstone,
and the audit says the same. Real components except the broker: the processor, the events
ledger as the broker holds it across restarts, the audit store, and the recipients' real SQL
upsert sink (connectors/sinks/sql_upsert.py), fed the acknowledged outputs in any order with
redeliveries. The harness is the identity one (tests/processor/test_event_identity.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sinks.sql_upsert import SqlUpsertWriter
from hub.agreements import Agreement
from hub.audit.store import AuditStore
from hub.audit.verify import verify_store
from hub.catalogue.topics import DEADLETTER_TOPIC
from hub.policy import PolicyEngine
from tests.processor.conftest import NOW
from tests.processor.stubs import FakeMessage
from tests.processor.test_event_identity import (
    EVENT_IDS,
    POLICE,
    WORLD_EXAMPLES,
    World,
    batches,
    police_event,
)

RETRACTION_IDS = [f"b1e3c9f0-2222-4aaa-8bbb-00000000000{i}" for i in range(1, 4)]
# Contents of a revision: whom the hub may share it with differs (the Liverpool MASH takes a
# child at HIGH risk, not at LOW; at 19 the subject is an adult).
VARIANTS = ("child-high", "child-low", "adult-high")


def revision_event(event_id: str, revision: int, variant: str) -> dict[str, Any]:
    event = police_event(event_id, 0 if variant == "child-low" else 1)
    event["envelope"]["revision"] = revision
    if variant == "adult-high":
        event["subject"]["date_of_birth"] = date(2007, 5, 1)  # 19 at NOW
    return event


class CorrectionsWorld(World):
    """The identity world, plus the police's retractions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retraction_type = self.catalogue.get("event-retraction")
        self.retraction_schema = self.registry.add(self.retraction_type.schema)

    def retract(self, event_id: str, retraction_id: str, reason: str = "WRONG_PERSON") -> None:
        event = {
            "envelope": {
                "event_id": retraction_id,
                "event_type": self.retraction_type.slug,
                "source_partner": POLICE,
                "occurred_at": NOW,
                "recorded_at": NOW,
                "schema_version": 1,
                "revision": 1,
                "correlation_id": None,
                "classification": "OFFICIAL_SENSITIVE",
            },
            "retracted_event_id": event_id,
            "reason": reason,
            "reason_text": "the concern named the wrong child",
        }
        self.publish(POLICE, self.retraction_type, self.retraction_schema, event)


@dataclass
class Model:
    """What each recipient must end up with, computed from the partner's records in the
    order the hub takes them, with the pure policy engine as the oracle of who may receive
    each revision. ``held[event][recipient]``: a revision, or "tombstone"."""

    engine: PolicyEngine
    latest: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, set[int]] = field(default_factory=dict)
    retracted: dict[str, str] = field(default_factory=dict)
    held: dict[str, dict[str, int | str]] = field(default_factory=dict)
    dead: dict[tuple[str, int], str] = field(default_factory=dict)

    def revision(self, world: CorrectionsWorld, m: FakeMessage) -> None:
        event = world.events[(m.topic(), m.offset())]
        event_id, rev = str(event["envelope"]["event_id"]), event["envelope"]["revision"]
        where = (m.topic(), m.offset())
        if event_id in self.retracted:
            if rev not in self.accepted.get(event_id, set()):  # else decided before: skipped
                self.dead[where] = "event-retracted"
            return
        latest = self.latest.get(event_id, 0)
        if rev < latest:
            if rev not in self.accepted[event_id]:
                self.dead[where] = "revision-superseded"
            return
        if rev == latest:
            return  # the same revision again (same content by construction): a duplicate
        et = world.types[POLICE]
        may = {d.recipient for d in self.engine.decide(event, et, POLICE, NOW) if d.shared}
        held = self.held.setdefault(event_id, {})
        for recipient in may:
            held[recipient] = rev
        for recipient, what in list(held.items()):
            if recipient not in may and what != "tombstone":
                held[recipient] = "tombstone"
        self.latest[event_id] = rev
        self.accepted.setdefault(event_id, set()).add(rev)

    def retraction(self, world: CorrectionsWorld, m: FakeMessage) -> None:
        event = world.events[(m.topic(), m.offset())]
        target, rid = str(event["retracted_event_id"]), str(event["envelope"]["event_id"])
        if target in self.retracted:
            if self.retracted[target] != rid:
                self.dead[(m.topic(), m.offset())] = "event-retracted"
            return
        self.retracted[target] = rid
        for recipient in self.held.get(target, {}):
            self.held[target][recipient] = "tombstone"


def expected(world: CorrectionsWorld, engine: PolicyEngine) -> Model:
    model = Model(engine)
    for m in world.log:
        if "event-retraction" in m.topic():
            model.retraction(world, m)
        else:
            model.revision(world, m)
    return model


def check_corrections(
    world: CorrectionsWorld,
    store: AuditStore,
    order: random.Random | None = None,
    on_retraction: str = "delete",
) -> Model:
    """Sinks, audit and receipts against the model, whose oracle is the pure policy engine
    under the agreements the world's processor ran with."""
    world.ingest(store)
    writers = world.sinks(store, order, on_retraction)
    model = expected(world, PolicyEngine(world.agreements))
    # The sinks hold exactly what the model says: the latest revision each may receive, or
    # a tombstone; nothing at all where the recipient was never sent the event.
    for recipient, writer in writers.items():
        held = writer.held()
        for (_provider, event_id), row in held.items():
            want = model.held.get(event_id, {}).get(recipient)
            got = "tombstone" if row["state"] == "tombstone" else row["revision"]
            assert got == want, f"{recipient} holds {got} of {event_id}, expected {want}"
        for event_id, by_recipient in model.held.items():
            if recipient in by_recipient:
                assert (POLICE, event_id) in held, f"{recipient} lacks {event_id}"
        for row in writer.rows():  # no personal data outlives a withdrawal
            if held.get((row["provider"], row["event_id"]), {}).get("state") == "tombstone":
                withdrawn = "erased" if on_retraction == "delete" else "retracted"
                assert row["state"] in ("tombstone", "notice", withdrawn), row["state"]
                if on_retraction == "delete":
                    assert row["record"] == "{}" or row["state"] != "erased"
                    assert row["person_name"] is None
    for event_id, by_recipient in model.held.items():
        for recipient in by_recipient:
            assert recipient in writers, f"{recipient} was never sent {event_id}"
    # The audit says the same: per (event, recipient), the last disclosure or notice.
    last: dict[tuple[str, str], tuple[int, int, str]] = {}
    for d in store.all_decisions():
        if d["outcome"] in ("shared", "retracted"):
            rank = (d["revision"] or 1, 1 if d["outcome"] == "retracted" else 0)
            key = (d["event_id"], d["recipient"])
            last[key] = max(last.get(key, (0, 0, "")), (*rank, d["outcome"]))
    audit = {k: ("tombstone" if v[2] == "retracted" else v[0]) for k, v in last.items()}
    model_view = {(e, r): w for e, by in model.held.items() for r, w in by.items()}
    assert audit == model_view
    # Every disclosure and notice has its receipt, and only those.
    disclosures = {
        d["disclosure_id"] for d in store.all_decisions() if d["outcome"] in ("shared", "retracted")
    }
    receipts = {r["disclosure_id"] for r in store.all_receipts()}
    assert receipts == disclosures
    dead = {(r["topic"], r["offset"]): r["reason_code"] for r in store.all_dead_letters()}
    assert dead == model.dead
    report = verify_store(store, {})
    assert report.ok, report.problems
    for w in writers.values():
        w.close()
    return model


@pytest.fixture
def world(
    tmp_path: Path, catalogue: Any, reference_agreements: list[Agreement], keys: Any
) -> CorrectionsWorld:
    return CorrectionsWorld(tmp_path, catalogue, reference_agreements, keys)


def shares(world: CorrectionsWorld, recipient: str) -> list[dict[str, Any]]:
    return [p for p in world.durable if p["topic"].startswith(f"share.{recipient}.")]


def mash_after_a_correction(
    world: CorrectionsWorld, store: AuditStore, variant: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Liverpool child shared with the MASH (at HIGH risk), then its revision 2 as
    ``variant``, checked end to end: the two records the MASH gets, the second withdrawing
    the first."""
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, variant))
    world.drain()
    first, second = shares(world, "liverpool-mash")
    assert second["headers"]["hub.withdraws"] == first["headers"]["hub.disclosure_id"]
    check_corrections(world, store)
    return first, second


def test_a_corrected_child_is_updated_at_the_mash_that_holds_it(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    _first, update = mash_after_a_correction(world, store, "child-high")
    assert update["headers"]["hub.revision"] == b"2"


def test_a_correction_to_age_19_sends_the_childrens_mash_a_retraction_notice(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    first, notice = mash_after_a_correction(world, store, "adult-high")
    assert notice["headers"]["hub.notice"] == b"retraction"
    [audited] = [d for d in store.all_decisions() if d["outcome"] == "retracted"]
    assert audited["recipient"] == "liverpool-mash" and audited["revision"] == 2
    assert first["headers"]["hub.disclosure_id"].decode() in audited["reason"]


def test_a_retraction_reaches_every_recipient_ever_sent_the_event_and_no_other(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, "child-low"))  # MASH: notice
    world.send(POLICE, revision_event(EVENT_IDS[1], 1, "child-low"))  # never shared
    world.retract(EVENT_IDS[0], RETRACTION_IDS[0])
    world.retract(EVENT_IDS[1], RETRACTION_IDS[1])
    world.drain()
    model = check_corrections(world, store)
    assert "liverpool-mash" not in model.held[EVENT_IDS[1]], "never sent: nothing to retract"
    notices = [d for d in store.all_decisions() if d["outcome"] == "retracted"]
    assert {(d["event_id"], d["recipient"]) for d in notices} >= {
        (EVENT_IDS[0], "liverpool-mash"),
        (EVENT_IDS[0], "modern-slavery-network"),
    }
    assert ("liverpool-mash", EVENT_IDS[1]) not in {
        (d["recipient"], d["event_id"]) for d in notices
    }
    assert any("WRONG_PERSON" in d["reason"] for d in notices)


def test_a_late_lower_revision_is_not_shared_again_and_a_retracted_event_stays_closed(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 3, "child-high"))
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, "child-high"))  # late: dead letter
    world.retract(EVENT_IDS[2], RETRACTION_IDS[2])  # before its event arrives
    world.send(POLICE, revision_event(EVENT_IDS[2], 1, "child-high"))
    world.drain()
    codes = [
        p["headers"]["hub.dlq.reason_code"] for p in world.durable if p["topic"] == DEADLETTER_TOPIC
    ]
    assert sorted(codes) == [b"event-retracted", b"revision-superseded"]
    check_corrections(world, store)


def test_flag_mode_keeps_the_data_marked_retracted(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.retract(EVENT_IDS[0], RETRACTION_IDS[0])
    world.drain()
    check_corrections(world, store, on_retraction="flag")
    writer = SqlUpsertWriter(
        f"sqlite:///{world.tmp / 'sink-liverpool-mash.db'}", "mash_referrals", "x"
    )
    states = sorted(r["state"] for r in writer.rows())
    assert states == ["retracted", "tombstone"]
    assert next(r for r in writer.rows() if r["state"] == "retracted")["person_name"]
    writer.close()


# -- the property: any interleaving ------------------------------------------------------------

revise = st.tuples(st.just("send"), st.integers(0, 2), st.integers(1, 4))
withdraw = st.tuples(st.just("retract"), st.integers(0, 2), st.integers(0, 1))


@settings(WORLD_EXAMPLES, max_examples=40)
@given(
    actions=st.lists(st.one_of(revise, revise, withdraw, batches), min_size=1, max_size=16),
    variants=st.lists(st.sampled_from(VARIANTS), min_size=12, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_sink_holds_the_latest_revision_it_may_receive_or_a_tombstone(
    tmp_path_factory: pytest.TempPathFactory,
    catalogue: Any,
    reference_agreements: list[Agreement],
    keys: Any,
    actions: list[tuple[Any, ...]],
    variants: list[str],
    seed: int,
) -> None:
    """Revisions in any order (late lower ones too), retractions (before or after their
    event, repeated, a second one), processor crashes before and after the flush, in-process
    retries, and the sinks fed in any order with redeliveries."""
    tmp = tmp_path_factory.mktemp("world")
    world = CorrectionsWorld(tmp, catalogue, reference_agreements, keys)
    for action in actions:
        if action[0] == "send":
            _, which, rev = action
            variant = variants[which * 4 + rev - 1]  # one content per (event, revision)
            world.send(POLICE, revision_event(EVENT_IDS[which], rev, variant))
        elif action[0] == "retract":
            world.retract(
                EVENT_IDS[action[1]],
                RETRACTION_IDS[action[1]]
                if action[2] == 0
                else RETRACTION_IDS[(action[1] + 1) % 3],
            )
        else:
            world.batch(action[1], crash=action[2])
    world.drain()
    with world.audit() as store:
        check_corrections(world, store, random.Random(seed))


def test_a_recipient_no_agreement_names_any_more_gets_a_notice_on_correction(
    world: CorrectionsWorld, store: AuditStore, reference_agreements: list[Agreement]
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.drain()
    assert shares(world, "modern-slavery-network")
    # The MSN's agreements are withdrawn from the hub (not merely suspended: no candidate).
    world.agreements = [
        a for a in reference_agreements if "modern-slavery-network" not in a.recipients
    ]
    world._restart()
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, "child-high"))
    world.drain()
    first, notice = shares(world, "modern-slavery-network")
    assert notice["headers"]["hub.notice"] == b"retraction"
    world.ingest(store)
    [audited] = [d for d in store.all_decisions() if d["outcome"] == "retracted"]
    assert audited["recipient"] == "modern-slavery-network" and "no agreement" in audited["reason"]
    assert first["headers"]["hub.disclosure_id"].decode() in audited["reason"]
    writers = world.sinks(store)
    held = writers["modern-slavery-network"].held()[(POLICE, EVENT_IDS[0])]
    assert held["state"] == "tombstone" and held["retraction_reason"] == "NO_LONGER_SHARED"
    assert writers["liverpool-mash"].held()[(POLICE, EVENT_IDS[0])]["revision"] == 2
    assert verify_store(store, {}).ok
    for w in writers.values():
        w.close()


def test_a_replay_under_changed_agreements_forgets_no_recipient(
    world: CorrectionsWorld, store: AuditStore, reference_agreements: list[Agreement]
) -> None:
    """The MSN received the event; its agreements go and the event is replayed (decided
    again, same content): the MSN is withheld now, but still holds what it was sent, so the
    partner's retraction must reach it."""
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.drain()
    world.agreements = [
        a for a in reference_agreements if "modern-slavery-network" not in a.recipients
    ]
    world._restart()
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))  # the replay
    world.drain()
    world.retract(EVENT_IDS[0], RETRACTION_IDS[0])
    world.drain()
    notices = [p for p in world.durable if p["headers"].get("hub.notice") == b"retraction"]
    assert {p["headers"]["hub.recipient"] for p in notices} == {
        b"liverpool-mash",
        b"modern-slavery-network",
    }
