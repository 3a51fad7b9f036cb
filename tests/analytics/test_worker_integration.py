"""The analytics worker (faust) on the real embedded broker.

Crafted, signed partner events go in; the test checks exactly which alerts reach which
recipient stream (near misses and single-agency sequences raise nothing), that every alert
decision is audited like a disclosure, that a restart and redelivered events raise no alert
twice and count no assault twice, and that the VRP feed equals a direct computation with
suppression applied.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import Consumer, Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from connectors.base.publisher import PartnerPublisher
from hub.analytics.changelogs import read_changelogs
from hub.analytics.config import AnalyticsConfig
from hub.analytics.runner import AnalyticsProcess, run_analytics
from hub.analytics.tables import publish
from hub.analytics.violence import Cell, cell_of
from hub.audit.records import KIND_HEADER, AuditRecord
from hub.broker import EmbeddedBroker
from hub.broker.client_config import consumer_config
from hub.catalogue.topics import AUDIT_TOPIC, share_topic
from hub.config import Settings
from hub.kafka import KafkaConnection
from hub.processor.build import partner_keys
from hub.telemetry.tracing import trace_id_from
from tests.analytics import builders as b
from tests.analytics.builders import ADULT, CHILD, NOMINAL, OTHER_CHILD, T0, Who, days

pytestmark = pytest.mark.integration

MASH_TOPIC = share_topic("liverpool-mash", "linkage-alert")
IOM_TOPIC = share_topic("merseyside-iom", "linkage-alert")
VRP = "feed.merseyside-vrp.violence-aggregates.v1"
LONER = Who("Eve", "Testloner", b.date(2010, 1, 1))
SEFTON_CHILD = Who("Fay", "Testsefton", b.date(2012, 2, 2))


def at(n: float) -> datetime:
    return T0 + days(n)


def ids(*events: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(str(e["envelope"]["event_id"]) for e in events))


class Partners:
    def __init__(self, settings: Settings, bootstrap: str, registry: str) -> None:
        self._keys = partner_keys(settings)
        self._bootstrap, self._registry = bootstrap, registry
        self._pubs: dict[tuple[str, str], PartnerPublisher] = {}

    def publish(self, *events: dict[str, Any]) -> None:
        for e in events:
            env = e["envelope"]
            key = (env["source_partner"], env["event_type"])
            if key not in self._pubs:
                self._pubs[key] = PartnerPublisher(
                    partner=key[0],
                    event_type=b.event_type(key[1]),
                    bootstrap=self._bootstrap,
                    registry_url=self._registry,
                    signer=self._keys.dev_signing_key(key[0]),
                )
            self._pubs[key].publish(e)
        for p in self._pubs.values():
            p.flush()


def read_all(bootstrap: str, topic: str, settle: float = 2.0) -> list[Message]:
    c = Consumer(consumer_config(bootstrap, f"reader-{topic}-{time.monotonic_ns()}"))
    c.subscribe([topic])
    out: list[Message] = []
    # The first group join takes a few seconds: the quiet period counts from then.
    quiet_since = time.monotonic() + 8
    deadline = time.monotonic() + 30
    while time.monotonic() - quiet_since < settle and time.monotonic() < deadline:
        got = [m for m in c.consume(500, 0.3) if m.error() is None]
        if got or (c.assignment() and quiet_since > time.monotonic()):
            quiet_since = time.monotonic()
        out.extend(got)
    c.close()
    return out


def decode_alerts(msgs: list[Message]) -> list[dict[str, Any]]:
    out = []
    for m in msgs:
        value = m.value()
        assert value is not None and value[0] == 0
        schema_id = int.from_bytes(value[1:5], "big")
        schema = json.loads(REGISTRY.get_schema(schema_id).schema_str or "")
        rec = fastavro.schemaless_reader(io.BytesIO(value[5:]), fastavro.parse_schema(schema))
        assert isinstance(rec, dict)
        for c in rec["contributing"]:
            c["event_id"] = str(c["event_id"])
        rec["envelope"]["event_id"] = str(rec["envelope"]["event_id"])
        out.append(rec)
    return out


REGISTRY: Any = None
TABLES = ("linkage", "alerts-raised", "vrp-counts", "vrp-counted")


# -- the crafted sequences (days from T0)

HIT_MISSING = [b.missing(CHILD, at(0)), b.concern(CHILD, at(10), "liverpool-cc", "CCE")]
NEAR_MISS = [b.missing(OTHER_CHILD, at(0)), b.concern(OTHER_CHILD, at(28.5), "liverpool-cc", "CCE")]
ONE_AGENCY = [b.missing(LONER, at(0)), b.concern(LONER, at(2), "merseyside-police", "COUNTY_LINES")]
SEFTON = [
    b.missing(SEFTON_CHILD, at(0), borough="SEFTON"),
    b.concern(SEFTON_CHILD, at(1), "sefton-mbc", "CCE", borough="SEFTON"),
]
HIT_REPEATED = [
    b.concern(ADULT, at(0), "merseyside-police"),
    b.concern(ADULT, at(12), "merseyside-police"),
    b.concern(ADULT, at(25), "nhs-cm"),
]
HIT_IOM = [b.cohort(NOMINAL, at(0)), b.domestic(ADULT, NOMINAL, at(40), physical=False)]
# Assaults for the VRP: busy districts and quiet ones, over two weeks.
ASSAULTS = [
    *(b.assault(at(i * 0.1), postcode="L1 4DQ", weapon="BODY_PART") for i in range(9)),
    *(b.assault(at(0.05 + i * 0.2), postcode="L1 4DQ", weapon="KNIFE") for i in range(6)),
    *(b.assault(at(1 + i * 0.3), postcode="L8 1TX", weapon="GLASS_BOTTLE") for i in range(3)),
    *(
        b.assault(at(2 + i * 0.2), postcode="L8 1TX", weapon="BODY_PART", age_band="25-34")
        for i in range(7)
    ),
    b.assault(at(8), postcode="L3 9AG", weapon="FIREARM", age_band=None),
    *(b.domestic(ADULT, None, at(3 + i * 0.5), postcode="L4 0TH") for i in range(6)),
]
FIRST = [*HIT_MISSING, *NEAR_MISS, *ONE_AGENCY, *SEFTON, *HIT_REPEATED, *HIT_IOM, *ASSAULTS]
# After the restart: everything again (a partner's redelivery), plus one new piece that
# completes a picture with an event from before the restart.
LATE = b.concern(OTHER_CHILD, at(20), "nhs-cm", "COUNTY_LINES")


@pytest.fixture(scope="module")
def world(
    broker: EmbeddedBroker, registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    global REGISTRY
    REGISTRY = SchemaRegistryClient({"url": registry_url})
    settings = Settings(data_dir=tmp_path_factory.mktemp("analytics"))
    config = AnalyticsConfig(publish_every=1.0, group="hub-analytics-test", log_level="DEBUG")
    partners = Partners(settings, broker.bootstrap, registry_url)

    def start() -> AnalyticsProcess:
        return AnalyticsProcess(settings, broker.bootstrap, registry_url, config=config).start()

    proc = start()
    partners.publish(*FIRST)
    # Wait for what must happen, then for quiet: so the checks below see any extra alert.
    proc.wait_until(lambda s: sum(s.get("alerts", {}).values()) >= 4 and s.get("aggregates"), 90)
    first = proc.drain(quiet=3)
    proc.stop()
    mash_first = read_all(broker.bootstrap, MASH_TOPIC)
    kafka = KafkaConnection.from_settings(settings, broker.bootstrap)
    held = read_changelogs(
        kafka, [f"{config.group}-{n}-changelog" for n in TABLES], "test-changelog-reader"
    )
    between = {n: len(held[f"{config.group}-{n}-changelog"]) for n in TABLES}
    proc = start()
    partners.publish(*FIRST, LATE)
    restored = proc.wait_until(lambda s: s.get("ready"), 90)["restored"]
    proc.wait_until(lambda s: s.get("alerts") and s.get("aggregates"), 90)
    second = proc.drain(quiet=3)
    proc.stop()
    yield {
        "settings": settings,
        "config": config,
        "first": first,
        "second": second,
        "mash_first": mash_first,
        "mash": read_all(broker.bootstrap, MASH_TOPIC),
        "iom": read_all(broker.bootstrap, IOM_TOPIC),
        "audit": read_all(broker.bootstrap, AUDIT_TOPIC),
        "vrp": read_all(broker.bootstrap, VRP),
        "changelogs_between": between,
        "second_restored": restored,
    }


def test_exactly_the_expected_alerts_reach_the_mash(world: dict[str, Any]) -> None:
    before = {
        (a["rule"]["name"], tuple(sorted(c["event_id"] for c in a["contributing"])))
        for a in decode_alerts(world["mash_first"])
    }
    assert before == {
        ("missing-child-exploitation", ids(*HIT_MISSING)),
        ("repeated-concerns-multi-agency", ids(*HIT_REPEATED)),
    }
    assert world["first"]["alerts"] == {
        "iom-nominal-domestic-abuse": 1,
        "missing-child-exploitation": 2,  # Liverpool, and Sefton (withheld: no agreement)
        "repeated-concerns-multi-agency": 1,
    }


def test_alert_carries_references_not_identities(world: dict[str, Any]) -> None:
    raw = b"".join(m.value() or b"" for m in world["mash"])
    for secret in (b"Ava", b"Testchild", b"Carl", b"tok."):
        assert secret not in raw
    alert = next(
        a
        for a in decode_alerts(world["mash"])
        if a["rule"]["name"] == "missing-child-exploitation"
        and {c["partner_id"] for c in a["contributing"]} == {"merseyside-police", "liverpool-cc"}
    )
    assert alert["borough"] == "LIVERPOOL" and alert["subject_kind"] == "CHILD"
    assert set(alert) >= {"envelope", "rule", "window_days", "contributing"}


def test_iom_alert_goes_to_the_iom_unit_only(world: dict[str, Any]) -> None:
    alerts = decode_alerts(world["iom"])
    assert [
        (a["rule"]["name"], tuple(sorted(c["event_id"] for c in a["contributing"]))) for a in alerts
    ] == [("iom-nominal-domestic-abuse", ids(*HIT_IOM))]


def test_restart_and_redelivery_raise_no_alert_twice(world: dict[str, Any]) -> None:
    alerts = decode_alerts(world["mash"])
    keys = [a["envelope"]["event_id"] for a in alerts]
    assert len(keys) == len(set(keys)) == 3
    late = [
        a
        for a in alerts
        if str(LATE["envelope"]["event_id"]) in {c["event_id"] for c in a["contributing"]}
    ]
    assert [tuple(sorted(c["event_id"] for c in a["contributing"])) for a in late] == [
        ids(NEAR_MISS[0], LATE)
    ]
    assert world["second"]["alerts"] == {"missing-child-exploitation": 1}


def test_every_alert_decision_is_audited_like_a_disclosure(world: dict[str, Any]) -> None:
    rows = [
        AuditRecord.from_json(m.value() or b"")
        for m in world["audit"]
        if dict(m.headers() or []).get(KIND_HEADER) == b"decision"
    ]
    alert_rows = [r for r in rows if r.event_type == "linkage-alert"]
    shared = [r for r in alert_rows if r.outcome == "shared"]
    assert Counter(r.recipient for r in shared) == {"liverpool-mash": 3, "merseyside-iom": 1}
    for r in shared:
        assert r.agreement_id and r.agreement_id.startswith("linkage-alerts-")
        assert r.agreement_version == 1 and r.legal_basis and r.gateways and r.disclosure_id
        assert r.subjects and all(s.startswith("tok.audit.") for s in r.subjects)
        assert r.output_topic in (MASH_TOPIC, IOM_TOPIC)
    withheld = [r for r in alert_rows if r.outcome == "withheld"]
    # The Sefton alert has no agreement in force for Sefton: considered and withheld, audited.
    assert {r.recipient for r in withheld} == {"liverpool-mash", "knowsley-mash"}
    assert any("condition" in r.reason for r in withheld)
    assert len({r.decision_id for r in alert_rows}) == len(alert_rows) // 1
    # Every disclosure on the stream has its audit record.
    disclosures = {dict(m.headers() or [])["hub.disclosure_id"].decode() for m in world["mash"]}
    assert disclosures <= {r.disclosure_id for r in shared}
    # A trace per alert, exporter or not: on every decision about it and on its disclosure.
    traces = {(r.event_id, r.trace_id) for r in alert_rows}
    assert all(t for _e, t in traces) and len(traces) == len({e for e, _t in traces})
    by_disclosure = {r.disclosure_id: r.trace_id for r in shared}
    for m in world["mash"]:
        headers = dict(m.headers() or [])
        trace = trace_id_from(headers.get("traceparent"))
        assert trace == by_disclosure[headers["hub.disclosure_id"].decode()]


def expected_feed(threshold: int) -> dict[tuple[str, str], dict[str, Any]]:
    cells: Counter[Cell] = Counter()
    for e in ASSAULTS:
        c = cell_of(e, b.event_type(e["envelope"]["event_type"]))
        if c is not None:
            cells[c] += 1
    weeks = {(c.week, c.source) for c in cells}
    return {
        w: publish(
            w[0], w[1], {c: n for c, n in cells.items() if (c.week, c.source) == w}, threshold
        )
        for w in weeks
    }


def test_the_restarted_worker_holds_everything_its_changelogs_held(
    world: dict[str, Any],
) -> None:
    # faust's own restore can stop short of a changelog's end on the embedded broker (it
    # reports the end as the last batch's first offset + 1); the worker then reads each
    # changelog to its true end before it folds anything (hub/analytics/changelogs.py).
    assert world["second_restored"] == world["changelogs_between"]
    assert world["second_restored"]["vrp-counted"] > 0


def test_vrp_feed_matches_a_direct_computation_after_restart(world: dict[str, Any]) -> None:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for m in world["vrp"]:
        rec = json.loads(m.value() or b"{}")
        latest[(rec["week_starting"], rec["source"])] = rec
    expected = expected_feed(world["config"].threshold)
    assert latest == expected  # redelivered assaults after the restart were not counted again
    assert any(t["total"] for rec in latest.values() for t in rec["tables"])
    hidden = [
        v
        for rec in latest.values()
        for t in rec["tables"]
        for row in t["cells"]
        for v in row
        if v is None
    ]
    assert hidden  # the quiet districts are suppressed


def test_feed_files_hold_the_same_tables_and_no_identifier(world: dict[str, Any]) -> None:
    folder: Path = world["config"].feed(world["settings"])
    expected = expected_feed(world["config"].threshold)
    for (week, source), rec in expected.items():
        assert json.loads((folder / f"{week}-{source}.json").read_text()) == rec
        csv_text = (folder / f"{week}-{source}.csv").read_text()
        assert csv_text.startswith("week_starting,source,table,area,column,count")
    blob = "".join(p.read_text() for p in folder.iterdir())
    for secret in ("Carl", "Testadult", "L8 1TX", "1985"):
        assert secret not in blob


def test_demo_hook_runs_beside_the_event_flow_and_counts(
    broker: EmbeddedBroker, registry_url: str, world: dict[str, Any]
) -> None:
    """``run_analytics`` as the demo calls it: in a thread, stopped by an event. (The same
    data folder: it holds the partners' development keys the signatures are checked with.)"""
    settings = world["settings"]
    stop = threading.Event()
    result: list[Any] = []
    config = AnalyticsConfig(group="hub-analytics-demo-hook", publish_every=1.0)
    t = threading.Thread(
        target=lambda: result.append(
            run_analytics(settings, broker.bootstrap, registry_url, stop, config=config, drain=2.0)
        )
    )
    t.start()
    # A fresh group reads the partner topics from the start: the same pictures again.
    stop.set()
    t.join(120)
    (run,) = result
    assert run.returncode is not None
    assert run.alerts == {
        "iom-nominal-domestic-abuse": 1,
        "missing-child-exploitation": 3,
        "repeated-concerns-multi-agency": 1,
    }
    assert run.as_dict()["alerts_total"] == 5 and run.aggregates >= 3
