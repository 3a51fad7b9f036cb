"""The event catalogue: event types, their Avro schemas and field tags, and topic names."""

from hub.catalogue.schemas import Catalogue, EventType, FieldInfo, load_catalogue
from hub.catalogue.topics import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    RECEIPTS_TOPIC,
    PartnerTopic,
    parse_partner_topic,
    partner_topic,
    share_topic,
)

__all__ = [
    "AUDIT_TOPIC",
    "DEADLETTER_TOPIC",
    "RECEIPTS_TOPIC",
    "Catalogue",
    "EventType",
    "FieldInfo",
    "PartnerTopic",
    "load_catalogue",
    "parse_partner_topic",
    "partner_topic",
    "share_topic",
]
