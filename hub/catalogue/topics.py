"""Topic naming. Partners write ``partner.<partner>.<event>.v<N>``; recipients read
``share.<recipient>.<event>.v<N>``; the hub writes dead letters and audit records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DEADLETTER_TOPIC = "hub.deadletter.v1"
AUDIT_TOPIC = "hub.audit.v1"
RECEIPTS_TOPIC = "hub.receipts.v1"  # delivery receipts from recipient sinks
# The processors' memory of seen events (hub/processor/ledger.py): compacted, keyed by
# "<provider>|<event id>", value the content digest; how a reused event id is recognised
# across restarts and instances.
EVENTS_TOPIC = "hub.events.v1"
# The consumer group named by `hub deadletter replay`: it never joins or commits (replay reads
# by assignment), but production ACLs grant the operator exactly this group.
REPLAY_GROUP = "hub-replay"

_ID = r"[a-z0-9][a-z0-9-]*"
_PARTNER_TOPIC = re.compile(rf"^partner\.({_ID})\.({_ID})\.v([0-9]+)$")


@dataclass(frozen=True)
class PartnerTopic:
    partner: str
    event_type: str
    version: int


def partner_topic(partner: str, event_type: str, version: int = 1) -> str:
    return f"partner.{partner}.{event_type}.v{version}"


def share_topic(recipient: str, event_type: str, version: int = 1) -> str:
    return f"share.{recipient}.{event_type}.v{version}"


@lru_cache(maxsize=4096)  # asked twice per record; topics are few (results immutable)
def parse_partner_topic(topic: str) -> PartnerTopic | None:
    m = _PARTNER_TOPIC.match(topic)
    if m is None:
        return None
    return PartnerTopic(m.group(1), m.group(2), int(m.group(3)))
