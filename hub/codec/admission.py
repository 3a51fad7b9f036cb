"""What admits a record on a partner topic: a partner topic, a signer who owns it, a schema
of the topic's event type, an event that claims the same source partner.

Written once for the processor (which dead-letters what fails), the sandbox's dry run
(hub/sandbox/dryrun.py, which narrates each check to a partner) and the analytics intake
(which skips what the processor would dead-letter): what one admits, the others admit.
Before, the dry run kept a copy of these checks and the intake a shorter one that let
through a record whose schema was of another event type than its topic. Here in hub/codec,
not hub/processor, so the analytics worker does not import the processor to use them.

Hot path (issue 17): the processor calls ``decode_admitted`` once per record; ``checks``
is None there, so narrating costs it one test per step.
"""

from __future__ import annotations

from typing import Any

from hub.catalogue.schemas import EventType
from hub.catalogue.topics import PartnerTopic, parse_partner_topic
from hub.codec import wire
from hub.codec.schemas import SchemaCache
from hub.errors import MalformedRecord, PartnerMismatch

Checks = list[tuple[str, str]]  # (check, what was found), in the order they passed


def partner_topic_of(topic: str) -> PartnerTopic:
    owner = parse_partner_topic(topic)
    if owner is None:
        raise MalformedRecord(
            f"topic {topic} is not a partner topic",
            fix="publish to partner.<your partner id>.<event type>.v<N>",
        )
    return owner


def check_size(value: bytes | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise MalformedRecord(
            f"record is {len(value)} bytes, over the {limit}-byte limit",
            fix="split large attachments out of the event",
        )


def decode_admitted(
    schemas: SchemaCache,
    owner: PartnerTopic,
    topic: str,
    value: bytes | None,
    signer: str,
    checks: Checks | None = None,
) -> tuple[EventType, dict[str, Any]]:
    """The event type and decoded event of a record whose signature verified as
    ``signer``; nothing from a signer who does not own the topic is decoded."""
    if signer != owner.partner:
        raise PartnerMismatch(
            f"record signed by {signer} was published on {owner.partner}'s topic {topic}",
            fix="publish only to your own partner topics",
        )
    schema_id, body = wire.split(value)
    writer = schemas.writer(schema_id)
    event_type = writer.event_type
    if event_type.slug != owner.event_type:
        raise MalformedRecord(
            f"schema id {schema_id} is {event_type.slug}, but topic {topic} carries "
            f"{owner.event_type}",
            fix=f"publish {event_type.slug} events to their own topic",
        )
    event = wire.decode(body, writer.parsed, writer.reader)
    if checks is not None:
        checks.append(("schema", f"id {schema_id}, {event_type.slug}; decodes"))
    claimed = event_type.source_partner(event)
    if claimed != owner.partner:
        raise PartnerMismatch(
            f"event claims source_partner={claimed!r} but is signed by {signer} (topic {topic})",
            fix="publish only your own events, on your own partner topics",
        )
    if checks is not None:
        checks.append(("source partner", f"{claimed}, matches the signer and topic"))
    return event_type, event
