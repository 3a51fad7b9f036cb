"""Over many synthetic events, nothing the MSN agreement drops or tokenises reaches its output,
in any form; and every output validates against the schema derived from the plan."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import fastavro
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.synthetic.police import PoliceFeed
from hub.agreements import Agreement
from hub.catalogue import EventType
from hub.policy import PolicyEngine
from hub.privacy import Transformer, derive_output_schema
from hub.privacy.keys import LocalKeyProvider

TOKEN = re.compile(r"tok\.[a-z0-9-]+\.[a-z0-9]+\.[a-z2-7]{40}")


def _text(record: object) -> str:
    # Tokens are random-looking base32: drop them so a name like "Leo" cannot match by chance.
    return TOKEN.sub("<token>", json.dumps(record, default=str)).casefold()


# The fixed-key fixture is the same for every example, so sharing it is safe.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_msn_output_carries_no_identifier(
    seed: int,
    concern_type: EventType,
    reference_agreements: list[Agreement],
    keys: LocalKeyProvider,
) -> None:
    engine = PolicyEngine(reference_agreements)
    transformer = Transformer(keys)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    for event in PoliceFeed(seed=seed).events(25):
        for d in engine.decide(event, concern_type, "merseyside-police", now):
            if not d.shared or d.recipient != "modern-slavery-network":
                continue
            assert d.plan is not None
            out = transformer.apply(d.plan, event, concern_type)
            text = _text(out)
            subject = event["subject"]
            for secret in (
                *subject["aliases"],
                *(v for v in (subject["nhs_number"], subject["pnc_id"]) if v),
                subject["given_name"],
                subject["family_name"],
                subject["address"],
                subject["postcode"],
                event["narrative"],
                event["source_reference"],
            ):
                assert secret.casefold() not in text
            if subject["date_of_birth"] is not None:
                assert subject["date_of_birth"].isoformat() not in text
            schema = fastavro.parse_schema(derive_output_schema(d.plan, concern_type, d.recipient))
            fastavro.schemaless_writer(io.BytesIO(), schema, out)


def test_output_schema_has_only_planned_fields(
    concern_type: EventType, reference_agreements: list[Agreement]
) -> None:
    engine = PolicyEngine(reference_agreements)
    msn = next(a for a in reference_agreements if a.id == "police-msn")
    plan = engine.plan(msn, concern_type)
    assert not isinstance(plan, str)
    schema = derive_output_schema(plan, concern_type, "modern-slavery-network")
    names = {f["name"] for f in schema["fields"]}
    assert "narrative" not in names and "source_reference" not in names
    subject = next(f for f in schema["fields"] if f["name"] == "subject")
    assert [f["name"] for f in subject["type"]["fields"]] == [
        "token",
        "age_band",
        "postcode_district",
    ]
