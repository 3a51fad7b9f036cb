"""The processor's batch logic against stub clients: routing, dead letters, offsets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hub.agreements import Agreement
from hub.audit.records import KIND_HEADER
from hub.catalogue import AUDIT_TOPIC, DEADLETTER_TOPIC, EventType
from hub.errors import BrokerUnavailable
from hub.identity import PartnerKeyStore
from hub.policy import PolicyEngine
from tests.processor.conftest import (
    ROOT,
    SIGNERS,
    TOPIC,
    county_lines_child,
    encode,
    signed,
)


def test_good_and_bad_records_in_one_batch(setup: Any, concern_type: EventType) -> None:
    processor, consumer, producer, audit, schema_id = setup
    good = county_lines_child()
    spoofed = county_lines_child()
    spoofed["envelope"].update(source_partner="sefton-mbc")
    batch = [
        signed(0, 10, b"\x01garbage"),
        signed(0, 11, encode(schema_id, concern_type, good)),
        signed(0, 12, encode(schema_id + 50, concern_type, good)),
        signed(0, 13, encode(schema_id, concern_type, spoofed)),
        signed(1, 4, encode(schema_id, concern_type, good)[:20]),
        signed(1, 5, encode(schema_id, concern_type, good), signer=None),
        signed(1, 6, encode(schema_id, concern_type, good), signer="sefton-mbc"),
    ]
    processor.process_batch(batch)  # type: ignore[arg-type]

    shared_topics = sorted(
        {p["topic"] for p in producer.produced if p["topic"].startswith("share.")}
    )
    assert shared_topics == [
        "share.liverpool-mash.safeguarding-concern.v1",
        "share.modern-slavery-network.safeguarding-concern.v1",
    ]
    for p in producer.produced:
        if p["topic"].startswith("share."):
            assert p["headers"]["hub.event_id"] == good["envelope"]["event_id"].encode()
            assert p["key"] == p["headers"]["hub.disclosure_id"]
    dead = producer.on(DEADLETTER_TOPIC)
    assert [d["headers"]["hub.dlq.reason_code"] for d in dead] == [
        b"malformed",
        b"unknown-schema",
        b"partner-mismatch",
        b"malformed",
        b"unsigned",
        b"partner-mismatch",
    ]
    assert b"signed by sefton-mbc" in dead[5]["headers"]["hub.dlq.reason"]
    assert dead[0]["value"] == b"\x01garbage", "the original bytes are kept for replay"
    assert "hub.sig" in dead[0]["headers"], "and the original headers, signature included"
    assert dead[3]["headers"]["hub.dlq.offset"] == b"4"
    # Three candidates: the Liverpool and Knowsley MASHs and the MSN (one decision each).
    kinds = Counter(r["headers"][KIND_HEADER] for r in producer.on(AUDIT_TOPIC))
    # The batch's three decisions travel together in one record; dead letters one each.
    assert kinds == {b"decisions": 1, b"dead_letter": 6}, "every outcome goes to hub.audit.v1"
    assert audit.count_decisions() == 3
    assert audit.count_dead_letters() == 6
    committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.commits[-1]}
    assert committed == {(TOPIC, 0): 14, (TOPIC, 1): 7}


def test_no_commit_when_outputs_are_not_acknowledged(setup: Any, concern_type: EventType) -> None:
    processor, consumer, producer, audit, schema_id = setup
    producer.undelivered = 3
    msg = signed(0, 0, encode(schema_id, concern_type, county_lines_child()))
    with pytest.raises(BrokerUnavailable, match="not committed"):
        processor.process_batch([msg])  # type: ignore[arg-type]
    assert consumer.commits == [] and audit.count_decisions() == 0


def test_redelivered_batch_is_idempotent_in_the_audit(setup: Any, concern_type: EventType) -> None:
    processor, _consumer, _producer, audit, schema_id = setup
    msg = signed(0, 0, encode(schema_id, concern_type, county_lines_child()))
    processor.process_batch([msg])  # type: ignore[arg-type]
    processor.process_batch([msg])  # type: ignore[arg-type]
    assert audit.count_decisions() == 3


def test_oversize_record_is_dead_lettered(setup: Any, concern_type: EventType) -> None:
    processor, _consumer, producer, _audit, schema_id = setup
    event = county_lines_child()
    event["narrative"] = "x" * 1_200_000
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    [dead] = producer.on(DEADLETTER_TOPIC)
    assert b"over the" in dead["headers"]["hub.dlq.reason"]


def test_suspension_takes_effect_between_batches(
    setup: Any, concern_type: EventType, tmp_path: Any
) -> None:
    """IG suspends the MSN agreement (a new version) while the processor runs: the next batch
    is withheld from the MSN with that reason, without a restart."""
    import shutil

    from hub.processor.reload import RuleSource

    processor, _consumer, _producer, audit, schema_id = setup
    folder = tmp_path / "agreements"
    shutil.copytree(ROOT / "partnership" / "agreements", folder)
    processor._rules = RuleSource(
        folder,
        PartnerKeyStore(None, tmp_path / "partner-keys"),
        [tmp_path / "partner-keys"],
        interval=0.0,
    )
    v1 = (folder / "police-msn" / "v1.yaml").read_text()
    (folder / "police-msn" / "v2.yaml").write_text(
        v1.replace("version: 1", "version: 2").replace("status: approved", "status: suspended")
    )
    processor._maybe_reload()
    event = county_lines_child()
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    [msn] = [
        d
        for d in audit.decisions_for_event(event["envelope"]["event_id"])
        if d["recipient"] == "modern-slavery-network"
    ]
    assert msn["outcome"] == "withheld" and "police-msn@v2 is suspended" in msn["reason"]
    assert msn["agreement_version"] == 2


def test_refused_recipient_schema_withholds_and_goes_on(
    setup: Any, concern_type: EventType
) -> None:
    """A registry that refuses a derived schema (409) must not stop the processor: that
    disclosure is withheld, with the registry's reason in the audit."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    processor, _consumer, producer, audit, schema_id = setup
    registry = processor._schemas._client

    def refuse(subject: str, schema: Any) -> int:
        raise SchemaRegistryError(409, 409, "Schema being registered is incompatible")

    registry.register_schema = refuse
    event = county_lines_child()
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    decisions = audit.decisions_for_event(event["envelope"]["event_id"])
    assert len(decisions) == 3 and all(d["outcome"] == "withheld" for d in decisions)
    assert any("registry refused" in d["reason"] for d in decisions)
    assert not [p for p in producer.produced if p["topic"].startswith("share.")]


def test_untokenisable_identifier_is_noted_in_the_audit(
    setup: Any,
    concern_type: EventType,
    reference_agreements: list[Agreement],
    keys: Any,
    catalogue: Any,
    tmp_path: Any,
) -> None:
    """An NHS number with a wrong check digit is not tokenised (null, never a token of the
    typo), and the audit says so."""
    processor, _consumer, _producer, audit, schema_id = setup
    msn = next(a for a in reference_agreements if a.id == "police-msn")
    data = msn.model_dump(mode="json")
    data["fields"].append(
        {"id": "nhs", "field": "subject.nhs_number", "treatment": "token", "domain": "msn"}
    )
    processor._engine = PolicyEngine([Agreement.model_validate(data)])
    event = county_lines_child()
    event["subject"]["nhs_number"] = "943 476 5918"  # the check digit should be 9
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    [row] = audit.decisions_for_event(event["envelope"]["event_id"])
    assert row["outcome"] == "shared"
    assert "subject.nhs_number" in row["notes"] and "check digit" in row["notes"]


def test_audit_names_each_shared_field_with_its_clause_and_treatment(
    setup: Any, concern_type: EventType
) -> None:
    """The MSN receives a pseudonymised child: the audit says, per output field, which
    clause allowed it and how it was treated, including fields renamed by generalisation."""
    import json

    processor, _consumer, _producer, audit, schema_id = setup
    event = county_lines_child()
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    [msn] = [
        d
        for d in audit.decisions_for_event(event["envelope"]["event_id"])
        if d["recipient"] == "modern-slavery-network"
    ]
    fields = json.loads(msn["fields"])
    treatments = {path: f["treatment"] for path, f in fields.items()}
    assert treatments.get("subject.token", "").startswith("token:")
    renamed = {path: f for path, f in fields.items() if "from" in f}
    assert renamed, "a generalised field is recorded under its output name"
    assert all(f["treatment"].startswith("generalise:") for f in renamed.values())
    assert all(f["clause"] for f in fields.values())


def test_a_key_registered_since_the_last_reload_is_found_before_dead_lettering(
    setup: Any, concern_type: EventType, tmp_path: Any
) -> None:
    """A new partner key lands on disk, and the partner's first records arrive before the
    processor's next scheduled reload: they are verified with the fresh keys, not lost."""
    from hub.processor.reload import RuleSource

    processor, _consumer, producer, audit, schema_id = setup
    late = PartnerKeyStore(None, tmp_path / "late-keys")
    processor._rules = RuleSource(
        ROOT / "partnership" / "agreements", late, [tmp_path / "late-keys"], interval=3600.0
    )
    SIGNERS["merseyside-police"] = late.dev_signing_key("merseyside-police", "dev9")
    event = county_lines_child()
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    assert not producer.on(DEADLETTER_TOPIC)
    assert len(audit.decisions_for_event(event["envelope"]["event_id"])) == 3
    forged = PartnerKeyStore(None, tmp_path / "nobody").dev_signing_key("merseyside-police", "x")
    SIGNERS["merseyside-police"] = forged  # a key nobody registered is still refused
    processor.process_batch([signed(0, 1, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    [dead] = producer.on(DEADLETTER_TOPIC)
    assert dead["headers"]["hub.dlq.reason_code"] == b"unknown-signer"
