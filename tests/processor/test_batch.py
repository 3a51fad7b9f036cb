"""The processor's batch logic against stub clients: routing, dead letters, offsets."""

from __future__ import annotations

import hashlib
import json
import uuid
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


# -- one partner cannot stop the hub (issue 15 item 2) ----------------------------------------


def _fresh() -> dict[str, Any]:
    """A county-lines child concern with an event id of its own."""
    event = county_lines_child()
    event["envelope"]["event_id"] = str(uuid.uuid4())
    return event


def _committed(consumer: Any) -> dict[tuple[str, int], int]:
    return {(tp.topic, tp.partition): tp.offset for commit in consumer.commits for tp in commit}


def test_one_partner_cannot_stop_the_hub(
    setup: Any, concern_type: EventType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record too large to copy, and a record that trips an error nobody expected, are
    each dead-lettered (the first by reference) and audited; the good records around them
    are shared; the batch commits past all of them."""
    processor, consumer, producer, audit, schema_id = setup
    huge_value = b"\x00" + b"x" * 2_000_000  # 2 MB: over the input limit and the producer's
    boom = _fresh()
    boom["narrative"] = "trips a defect"
    subjects = processor._transformer.subjects

    def defective(event: dict[str, Any], event_type: EventType) -> Any:
        if event.get("narrative") == "trips a defect":
            raise ZeroDivisionError("a message that could quote personal data")
        return subjects(event, event_type)

    monkeypatch.setattr(processor._transformer, "subjects", defective)
    first, last = _fresh(), _fresh()
    batch = [
        signed(0, 0, encode(schema_id, concern_type, first)),
        signed(0, 1, huge_value),
        signed(0, 2, encode(schema_id, concern_type, boom)),
        signed(0, 3, encode(schema_id, concern_type, last)),
    ]
    processor.process_batch(batch)  # type: ignore[arg-type]

    assert _committed(consumer) == {(TOPIC, 0): 4}
    shared = [p for p in producer.produced if p["topic"].startswith("share.")]
    assert {p["headers"]["hub.event_id"] for p in shared} == {
        e["envelope"]["event_id"].encode() for e in (first, last)
    }
    letters = producer.on(DEADLETTER_TOPIC)
    assert [d["headers"]["hub.dlq.reason_code"] for d in letters] == [
        b"malformed",
        b"internal-error",
    ]
    reference = json.loads(letters[0]["value"])
    assert letters[0]["headers"]["hub.dlq.by_reference"] == b"1"
    assert reference["sha256"] == hashlib.sha256(huge_value).hexdigest()
    assert (reference["topic"], reference["partition"], reference["offset"]) == (TOPIC, 0, 1)
    assert reference["value_bytes"] == len(huge_value)
    assert reference["signer"] == "merseyside-police"
    internal = letters[1]["headers"]["hub.dlq.reason"].decode()
    assert "ZeroDivisionError" in internal and "personal data" not in internal
    stored = {r["offset"]: r for r in audit.all_dead_letters()}
    assert set(stored) == {1, 2}
    assert "by reference" in stored[1]["reason"] and reference["sha256"] in stored[1]["reason"]
    assert stored[2]["reason_code"] == "internal-error"


def test_a_derived_output_over_the_producers_limit_is_dead_lettered_and_nothing_sent(
    setup: Any, concern_type: EventType
) -> None:
    processor, consumer, producer, audit, schema_id = setup
    processor._out.max_bytes = 500_000
    event = _fresh()
    event["narrative"] = "x" * 600_000  # under the 1 MB input limit; shared as is: too large
    processor.process_batch([signed(0, 0, encode(schema_id, concern_type, event))])  # type: ignore[list-item]
    assert _committed(consumer) == {(TOPIC, 0): 1}
    assert not [p for p in producer.produced if p["topic"].startswith("share.")]
    [letter] = producer.on(DEADLETTER_TOPIC)
    assert letter["headers"]["hub.dlq.reason_code"] == b"output-too-large"
    assert letter["headers"]["hub.dlq.by_reference"] == b"1"  # the 600 KB input: no copy
    [stored] = audit.all_dead_letters()
    assert stored["reason_code"] == "output-too-large"
    assert audit.count_decisions() == 0  # nothing was shared, so no disclosure to audit


def test_infrastructure_failures_still_stop_the_loop(
    setup: Any, concern_type: EventType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a record's own failures are dead-lettered: a registry that is away stops the
    batch uncommitted (nothing lost), it does not dead-letter every record."""
    from hub.errors import RegistryUnavailable

    processor, consumer, producer, _audit, schema_id = setup

    def away(*_a: Any) -> Any:
        raise RegistryUnavailable("registry unreachable")

    monkeypatch.setattr(processor._schemas, "writer", away)
    with pytest.raises(RegistryUnavailable):
        processor.process_batch(  # type: ignore[list-item]
            [signed(0, 0, encode(schema_id, concern_type, _fresh()))]
        )
    assert consumer.commits == [] and producer.on(DEADLETTER_TOPIC) == []
