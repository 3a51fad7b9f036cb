"""Promise: the events ledger rebuilt from the audit store is the ledger the processor built
(hub/processor/ledger_seed.py), so a correction after the embedded broker restarted empty
still reaches every recipient that was sent the event, and a reused id is still refused.

The oracle is the real processor: the corrections world (tests/processor/test_corrections.py)
runs it over revisions, retractions and crashes; what it put on ``hub.events.v1`` (the
latest state per key, as any loader merges it) is compared with what the rebuild makes of
the audit the same run wrote.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from hub.agreements import Agreement
from hub.audit.store import AuditStore
from hub.catalogue.topics import EVENTS_TOPIC
from hub.processor import ledger_seed
from hub.processor.ledger import EventLedger, LedgerEntry
from hub.processor.ledger_seed import (
    Rebuilt,
    Unrebuildable,
    audit_rows,
    entries_from_audit,
    entry_from_rows,
    rebuild_from_audit,
    seed,
)
from hub.processor.ledger_store import state_rank
from tests.processor.test_corrections import (
    RETRACTION_IDS,
    VARIANTS,
    CorrectionsWorld,
    revision_event,
)
from tests.processor.test_event_identity import EVENT_IDS, POLICE, WORLD_EXAMPLES, batches


def produced(world: CorrectionsWorld) -> dict[tuple[str, str], LedgerEntry]:
    """The entry per key every loader keeps from what the processor put on the topic: the
    highest rank, the first of equal ranks (ledger_store.py ``merge``)."""
    best: dict[tuple[str, str], tuple[int, bytes]] = {}
    for p in world.durable:
        if p["topic"] != EVENTS_TOPIC:
            continue
        data = orjson.loads(p["value"])
        key, rank = (data["provider"], data["event_id"]), state_rank(p["value"])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, p["value"])
    return {k: LedgerEntry.from_json(v) for k, (_r, v) in best.items()}


def rebuilt(store: AuditStore) -> dict[tuple[str, str], LedgerEntry]:
    tally = Rebuilt()
    out = {(e.provider, e.event_id): e for e in entries_from_audit(audit_rows(store.engine), tally)}
    assert tally.skipped == 0
    return out


def assert_rebuilt_as_produced(world: CorrectionsWorld, store: AuditStore) -> None:
    """Every entry the audit can rebuild equals the processor's; the ones it cannot are
    exactly those the module doc names (no audit row; a retraction that reached nobody)."""
    world.ingest(store)
    mine, theirs = rebuilt(store), produced(world)
    assert set(mine) <= set(theirs)
    for key, entry in theirs.items():
        if key not in mine:  # no decision row: a retraction of an event never decided
            assert entry.digest == "" and entry.retraction and not entry.reached, entry
            continue
        if entry.retraction and not mine[key].retraction:  # it reached nobody: no notice
            assert not any(r[2] for r in (entry.before or {}).values()), entry
            assert entry.reached == entry.before
            continue
        assert mine[key] == entry


@pytest.fixture
def world(
    tmp_path: Path, catalogue: Any, reference_agreements: list[Agreement], keys: Any
) -> CorrectionsWorld:
    return CorrectionsWorld(tmp_path, catalogue, reference_agreements, keys)


def test_corrections_and_a_retraction_rebuild_as_the_processor_built_them(
    world: CorrectionsWorld, store: AuditStore
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))  # MASH + MSN
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, "adult-high"))  # MASH: notice
    world.send(POLICE, revision_event(EVENT_IDS[0], 4, "child-high"))  # MASH again
    world.send(POLICE, revision_event(EVENT_IDS[1], 1, "child-high"))
    world.retract(EVENT_IDS[1], RETRACTION_IDS[1])
    world.send(POLICE, revision_event(EVENT_IDS[2], 1, "child-low"))
    world.drain()
    assert_rebuilt_as_produced(world, store)
    mine = rebuilt(store)
    first = mine[(POLICE, EVENT_IDS[0])]
    assert first.revision == 4 and set(first.digests or {}) == {"1", "2"}
    assert first.reached and first.reached["liverpool-mash"][1:] == [4, True]
    second = mine[(POLICE, EVENT_IDS[1])]
    assert second.retraction and second.retraction["id"] == RETRACTION_IDS[1]
    assert second.retraction["reason"] == "WRONG_PERSON"
    assert second.reached and not any(r[2] for r in second.reached.values())


def test_a_replay_under_changed_agreements_rebuilds_every_recipient_reached(
    world: CorrectionsWorld, store: AuditStore, reference_agreements: list[Agreement]
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.drain()
    world.agreements = [
        a for a in reference_agreements if "modern-slavery-network" not in a.recipients
    ]
    world._restart()
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))  # the replay
    world.send(POLICE, revision_event(EVENT_IDS[0], 2, "child-high"))  # MSN: notice
    world.drain()
    assert_rebuilt_as_produced(world, store)
    entry = rebuilt(store)[(POLICE, EVENT_IDS[0])]
    assert entry.reached and entry.reached["modern-slavery-network"][2] is False


revise = st.tuples(st.just("send"), st.integers(0, 2), st.integers(1, 4))
withdraw = st.tuples(st.just("retract"), st.integers(0, 2), st.integers(0, 1))


@settings(WORLD_EXAMPLES, max_examples=25)
@given(
    actions=st.lists(st.one_of(revise, revise, withdraw, batches), min_size=1, max_size=16),
    variants=st.lists(st.sampled_from(VARIANTS), min_size=12, max_size=12),
)
def test_any_interleaving_rebuilds_as_the_processor_built_it(
    tmp_path_factory: pytest.TempPathFactory,
    catalogue: Any,
    reference_agreements: list[Agreement],
    keys: Any,
    actions: list[tuple[Any, ...]],
    variants: list[str],
) -> None:
    """Revisions in any order, late lower ones, retractions before and after their event,
    a second retraction, crashes before and after the flush and in-process retries."""
    world = CorrectionsWorld(
        tmp_path_factory.mktemp("world"), catalogue, reference_agreements, keys
    )
    for action in actions:
        if action[0] == "send":
            _, which, rev = action
            world.send(POLICE, revision_event(EVENT_IDS[which], rev, variants[which * 4 + rev - 1]))
        elif action[0] == "retract":
            other = RETRACTION_IDS[(action[1] + action[2]) % 3]
            world.retract(EVENT_IDS[action[1]], other)
        else:
            world.batch(action[1], crash=action[2])
    world.drain()
    with world.audit() as store:
        assert_rebuilt_as_produced(world, store)


# -- the rules of the rebuild, on rows -------------------------------------------------------


def row(**over: Any) -> dict[str, Any]:
    base = {
        "provider": POLICE,
        "event_id": EVENT_IDS[0],
        "event_type": "safeguarding-concern",
        "recipient": "liverpool-mash",
        "outcome": "shared",
        "reason": "allowed",
        "disclosure_id": "d-1",
        "decided_at": "2026-01-01T00:00:00+00:00",
        "source_topic": "partner.merseyside-police.safeguarding-concern.v1",
        "source_partition": 0,
        "source_offset": 0,
        "content_digest": "a" * 64,
        "revision": None,
    }
    return {**base, **over}


def test_a_notice_whose_named_retraction_does_not_give_its_id_is_no_retraction() -> None:
    """The retraction id is read from the reason text only when it hashes to the notice's
    own disclosure id: a reason that merely reads like one is a correction's notice."""
    forged = row(
        outcome="retracted",
        disclosure_id="n-1",
        reason="retraction notice withdrawing disclosure d-1: retracted by x (WRONG), "
        "retraction made-up",
    )
    entry = entry_from_rows([row(), forged])
    assert entry.retraction is None
    assert entry.reached == {"liverpool-mash": ["n-1", 1, False]}


def test_rows_with_no_content_digest_are_not_rebuilt_and_are_counted() -> None:
    with pytest.raises(Unrebuildable):
        entry_from_rows([row(content_digest=None)])
    tally = Rebuilt()
    rows = [row(content_digest=None), row(event_id=EVENT_IDS[1], disclosure_id="d-2")]
    assert [e.event_id for e in entries_from_audit(rows, tally)] == [EVENT_IDS[1]]
    assert (tally.rows, tally.skipped) == (2, 1)


def test_the_audit_is_read_along_the_provider_event_index_not_sorted_whole(
    tmp_path: Path,
) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    with store.engine.connect() as conn:
        stmt = ledger_seed.select(*[ledger_seed.decisions.c[n] for n in ledger_seed._COLUMNS])
        stmt = stmt.order_by(ledger_seed.decisions.c.provider, ledger_seed.decisions.c.event_id)
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    store.close()
    assert "ix_decisions_provider_event" in plan and "TEMP B-TREE" not in plan, plan


# -- seeding: what is sent, what is kept --------------------------------------------------------


def entry(event_id: str, digest: str = "b" * 64, revision: int = 1) -> LedgerEntry:
    return LedgerEntry(POLICE, event_id, digest, "t:0:0", "now", revision=revision)


def test_seed_sends_only_missing_entries_and_keeps_them_once_acknowledged() -> None:
    ledger = EventLedger()
    newer = entry(EVENT_IDS[0], "c" * 64, revision=2)
    ledger.put(newer)  # decided by another instance: never overwritten by the seed
    sent: list[list[LedgerEntry]] = []
    tally = Rebuilt()
    seed(
        ledger, [entry(EVENT_IDS[0]), entry(EVENT_IDS[1])], lambda es: sent.append(list(es)), tally
    )
    assert sent == [[entry(EVENT_IDS[1])]]
    assert (tally.entries, tally.present) == (1, 1)
    assert ledger.entry(POLICE, EVENT_IDS[0]) == newer
    found = ledger.entry(POLICE, EVENT_IDS[1])
    assert found is not None and found.digest == "b" * 64


def test_a_chunk_the_broker_did_not_acknowledge_is_not_kept() -> None:
    ledger = EventLedger()

    def refused(_entries: Any) -> None:
        raise OSError("broker gone")

    with pytest.raises(OSError):
        seed(ledger, [entry(EVENT_IDS[0])], refused, Rebuilt())
    assert ledger.entry(POLICE, EVENT_IDS[0]) is None


# -- when it runs -----------------------------------------------------------------------------


def never(_entries: Any) -> None:
    raise AssertionError("nothing may be sent")


def test_auto_runs_only_on_an_empty_ledger_and_off_never(world: CorrectionsWorld) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.drain()
    with world.audit() as store:
        world.ingest(store)
        url = store.url
    full = EventLedger()
    full.put(entry(EVENT_IDS[2]))
    assert rebuild_from_audit(full, never, url, "auto") is None
    assert rebuild_from_audit(EventLedger(), never, url, "off") is None
    sent: list[LedgerEntry] = []
    tally = rebuild_from_audit(full, sent.extend, url, "always")
    assert tally is not None and tally.entries == 1 and len(sent) == 1


def test_no_store_file_is_nothing_to_rebuild_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "audit.db"
    assert rebuild_from_audit(EventLedger(), never, f"sqlite:///{missing}", "auto") is None
    assert not missing.exists()


def test_an_unreadable_store_is_logged_and_the_processor_starts_without(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "audit.db"
    broken.write_bytes(b"this is not a database" * 100)
    ledger = EventLedger()
    with caplog.at_level(logging.WARNING, "hub.processor.ledger"):
        tally = rebuild_from_audit(ledger, never, f"sqlite:///{broken}", "auto")
    assert tally is not None and tally.entries == 0 and len(ledger) == 0
    assert "started WITHOUT a rebuild" in caplog.text and str(broken) in caplog.text


def test_the_rebuild_says_how_many_and_from_where(
    world: CorrectionsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.send(POLICE, revision_event(EVENT_IDS[0], 1, "child-high"))
    world.send(POLICE, revision_event(EVENT_IDS[1], 1, "child-high"))
    world.drain()
    with world.audit() as store:
        world.ingest(store)
        url = store.url
    with caplog.at_level(logging.INFO, "hub.processor.ledger"):
        rebuild_from_audit(EventLedger(), lambda _es: None, url, "auto")
    [line] = [r.getMessage() for r in caplog.records if "rebuilt" in r.getMessage()]
    assert "rebuilt 2 entries from the audit store sqlite:///" in line


def test_an_unreachable_server_is_logged_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "postgresql+psycopg://hub:s3cret-pw@127.0.0.1:1/audit"  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, "hub.processor.ledger"):
        tally = rebuild_from_audit(EventLedger(), never, url, "auto")
    assert tally is not None and tally.entries == 0
    assert "started WITHOUT a rebuild" in caplog.text and "127.0.0.1:1/audit" in caplog.text
    assert "s3cret-pw" not in caplog.text


class Topic:
    """One ``hub.events.v1`` shared by two instances: each reads what the other produced."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    def reader(self) -> Any:
        topic, seen = self, [0]

        class Source:
            def initial(self) -> list[tuple[bytes, bytes]]:
                seen[0] = len(topic.records)
                return list(topic.records)

            def more(self) -> list[tuple[bytes, bytes]]:
                new = topic.records[seen[0] :]
                seen[0] = len(topic.records)
                return new

        return Source()

    def send(self, entries: Any) -> None:
        self.records.extend((e.key(), e.to_json()) for e in entries)


def test_a_second_instance_seeding_later_never_puts_an_older_state_after_a_newer_one() -> None:
    """Two instances start on the empty topic. The first seeds and decides a correction; the
    second seeds after it: it takes the first's entries from the tail and produces none of
    them again, so the topic's last record per key is the newest state."""
    topic = Topic()
    first = EventLedger(topic.reader(), refresh_every=0)
    second = EventLedger(topic.reader(), refresh_every=0)
    audit = [entry(EVENT_IDS[0]), entry(EVENT_IDS[1])]
    seed(first, audit, topic.send, Rebuilt())
    corrected = entry(EVENT_IDS[0], "c" * 64, revision=2)
    first.put(corrected)  # the first instance's processor, deciding revision 2
    topic.send([corrected])
    tally = Rebuilt()
    seed(second, audit, topic.send, tally)
    assert (tally.entries, tally.present) == (0, 2)
    last = {k: v for k, v in topic.records}
    assert LedgerEntry.from_json(last[corrected.key()]) == corrected
    assert second.entry(POLICE, EVENT_IDS[0]) == corrected
