"""The Kafka topology a partnership needs, computed from its configuration (pure).

Inputs are the partnership register, the agreements and the catalogue; the output names
every topic with its partitions, replication and retention. Nothing here opens a file or
a socket: :mod:`hub.deploy.load` reads the configuration, the renderers write it out.

Topics:

- ``partner.<partner>.<event>.v1`` for each provider and event type any agreement names
  (in any state: a draft agreement's provider may already publish, and the hub records a
  withheld decision for it);
- ``share.<recipient>.<event>.v1`` for each recipient and event type any agreement names;
- ``hub.audit.v1``, ``hub.deadletter.v1`` and ``hub.receipts.v1``;
- ``hub.events.v1``: the processors' compacted memory of seen events (hub/processor/ledger.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hub.agreements.lifecycle import HUB_ANALYTICS
from hub.agreements.models import Agreement
from hub.agreements.partnership import Partnership
from hub.catalogue.schemas import Catalogue
from hub.catalogue.topics import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    EVENTS_TOPIC,
    RECEIPTS_TOPIC,
    partner_topic,
    share_topic,
)
from hub.deploy.retention import FOREVER, duration_ms
from hub.errors import ConfigError

# Defaults, documented in docs/operators/deploy.md. Partner topics hold identified raw
# events: a week is enough to ride out an outage or replay dead letters, and no longer.
DEFAULT_PARTNER_RETENTION = "P7D"
DEFAULT_DEADLETTER_RETENTION = "P30D"
# Share topics are a delivery buffer; their retention never exceeds the shortest
# retention of the agreements feeding them, and is capped at this by default.
DEFAULT_SHARE_RETENTION_CAP = "P30D"


class TopicRole(StrEnum):
    PARTNER = "partner"
    SHARE = "share"
    AUDIT = "audit"
    DEADLETTER = "deadletter"
    RECEIPTS = "receipts"
    LEDGER = "ledger"  # the processors' memory of seen events (compacted)
    ANALYTICS = "analytics"  # the analytics' own state: intake topic, table changelogs
    FEED = "feed"  # anonymised aggregates for a recipient (JSON, not a disclosure)


# hub/analytics (faust app id "hub-analytics"): its intake topic and its tables' changelogs,
# and the VRP feed it publishes (weekly aggregates with small numbers suppressed).
ANALYTICS_GROUP = "hub-analytics"
ANALYTICS_INTAKE_TOPIC = f"{ANALYTICS_GROUP}.observations.v1"
ANALYTICS_CHANGELOGS = tuple(
    f"{ANALYTICS_GROUP}-{table}-changelog"
    for table in ("linkage", "alerts-raised", "vrp-counts", "vrp-counted")
)
ANALYTICS_STATE_TOPICS = (ANALYTICS_INTAKE_TOPIC, *ANALYTICS_CHANGELOGS)
VRP_RECIPIENT = "merseyside-vrp"
VRP_FEED_TOPIC = f"feed.{VRP_RECIPIENT}.violence-aggregates.v1"  # JSON, not a share topic


@dataclass(frozen=True)
class TopicSpec:
    name: str
    role: TopicRole
    partitions: int
    replication_factor: int
    config: Mapping[str, str]
    owner: str | None = None  # the partner (partner topics) or recipient (share topics)
    event_type: str | None = None
    # Why the retention is what it is, for operators reading the plan.
    retention_source: str = ""

    @property
    def retention_ms(self) -> int:
        return int(self.config["retention.ms"])


@dataclass(frozen=True)
class TopologyOptions:
    replication_factor: int = 3
    min_insync_replicas: int = 2
    partner_partitions: int = 6
    share_partitions: int = 3
    hub_partitions: int = 6
    partner_retention: str = DEFAULT_PARTNER_RETENTION
    deadletter_retention: str = DEFAULT_DEADLETTER_RETENTION
    share_retention_cap: str | None = DEFAULT_SHARE_RETENTION_CAP

    def __post_init__(self) -> None:
        if self.replication_factor < 1:
            raise ConfigError("replication factor must be at least 1")
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ConfigError("min.insync.replicas must be between 1 and the replication factor")
        if min(self.partner_partitions, self.share_partitions, self.hub_partitions) < 1:
            raise ConfigError("every topic needs at least one partition")
        duration_ms(self.partner_retention)  # fail on a bad duration before rendering


@dataclass(frozen=True)
class Topology:
    topics: tuple[TopicSpec, ...]
    partners: tuple[str, ...]  # every partner in the register, publishing or not
    recipients: tuple[str, ...]  # every recipient named by the register or an agreement
    linkage_domains: tuple[str, ...]  # pseudonymisation domains the agreements use
    options: TopologyOptions = field(default_factory=TopologyOptions)

    def topic(self, name: str) -> TopicSpec | None:
        return next((t for t in self.topics if t.name == name), None)

    def by_role(self, role: TopicRole) -> tuple[TopicSpec, ...]:
        return tuple(t for t in self.topics if t.role is role)

    def _names(self, role: TopicRole, owner: str | None) -> tuple[str, ...]:
        """The topics of a role, of one owner or (``None``) of every owner."""
        return tuple(t.name for t in self.by_role(role) if owner is None or t.owner == owner)

    def partner_topics(self, partner: str | None = None) -> tuple[str, ...]:
        return self._names(TopicRole.PARTNER, partner)

    def feed_topics(self, recipient: str | None = None) -> tuple[str, ...]:
        return self._names(TopicRole.FEED, recipient)

    def share_topics(self, recipient: str | None = None) -> tuple[str, ...]:
        return self._names(TopicRole.SHARE, recipient)


def _spec(
    opts: TopologyOptions,
    name: str,
    role: TopicRole,
    partitions: int,
    retention_ms: int,
    retention_source: str,
    *,
    compact: bool = False,
    owner: str | None = None,
    event_type: str | None = None,
) -> TopicSpec:
    """One topic, replicated and kept safe (min.insync.replicas) alike with every other;
    ``compact`` keeps the latest record per key instead of deleting by age."""
    config = {
        "cleanup.policy": "compact" if compact else "delete",
        "min.insync.replicas": str(opts.min_insync_replicas),
        "retention.ms": str(retention_ms),
    }
    return TopicSpec(
        name,
        role,
        partitions,
        opts.replication_factor,
        config,
        owner=owner,
        event_type=event_type,
        retention_source=retention_source,
    )


def _check_known(
    agreements: Iterable[Agreement], partnership: Partnership, catalogue: Catalogue
) -> None:
    """Fail on an agreement naming an unknown partner or event type: a typo would otherwise
    silently create a topic (and a grant) nobody meant."""
    known_parties = {p.id for p in partnership.partners} | {r.id for r in partnership.recipients}
    for a in agreements:
        for provider in a.providers:
            if provider == HUB_ANALYTICS:
                continue  # alert agreements: the hub's analytics decide them, no partner topic
            if partnership.partner(provider) is None:
                raise ConfigError(f"agreement {a.ref}: provider {provider} is not a partner")
        for recipient in a.recipients:
            if recipient not in known_parties:
                raise ConfigError(f"agreement {a.ref}: recipient {recipient} is not registered")
        for et in a.event_types:
            if catalogue.get(et) is None:
                raise ConfigError(f"agreement {a.ref}: event type {et} is not in the catalogue")


def build_topology(
    partnership: Partnership,
    agreements: Iterable[Agreement],
    catalogue: Catalogue,
    options: TopologyOptions | None = None,
) -> Topology:
    """Every topic the partnership needs, sorted by name so renderings are stable."""
    opts = options or TopologyOptions()
    agreements = list(agreements)
    _check_known(agreements, partnership, catalogue)
    specs = [
        *_partner_topics(agreements, opts),
        *_share_topics(agreements, opts),
        *_hub_topics(opts),
        *_analytics_topics(partnership, opts),
    ]
    topics = {t.name: t for t in specs}

    recipients = {r.id for r in partnership.recipients} | {
        r for a in agreements for r in a.recipients
    }
    domains = {c.domain for a in agreements for c in a.fields if c.domain}
    return Topology(
        topics=tuple(sorted(topics.values(), key=lambda t: t.name)),
        partners=tuple(sorted(p.id for p in partnership.partners)),
        recipients=tuple(sorted(recipients)),
        linkage_domains=tuple(sorted(domains)),
        options=opts,
    )


def _partner_topics(agreements: list[Agreement], opts: TopologyOptions) -> list[TopicSpec]:
    return [
        _spec(
            opts,
            partner_topic(provider, et),
            TopicRole.PARTNER,
            opts.partner_partitions,
            duration_ms(opts.partner_retention),
            f"default partner retention {opts.partner_retention}",
            owner=provider,
            event_type=et,
        )
        for a in agreements
        for provider in a.providers
        if provider != HUB_ANALYTICS  # its alerts are decided in the hub, never published
        for et in a.event_types
    ]


def _share_cap(opts: TopologyOptions) -> int | None:
    return duration_ms(opts.share_retention_cap) if opts.share_retention_cap else None


def _share_topics(agreements: list[Agreement], opts: TopologyOptions) -> list[TopicSpec]:
    # A share topic fed by several agreements keeps data no longer than the strictest.
    limits: dict[tuple[str, str], tuple[int, str]] = {}
    for a in agreements:
        limit = duration_ms(a.retention)
        for recipient in a.recipients:
            for et in a.event_types:
                current = limits.get((recipient, et))
                if current is None or limit < current[0]:
                    limits[(recipient, et)] = (limit, f"agreement {a.ref} ({a.retention})")
    cap = _share_cap(opts)
    specs = []
    for (recipient, et), (limit, source) in limits.items():
        if cap is not None and cap < limit:
            limit, source = cap, f"{source}, capped at {opts.share_retention_cap}"
        specs.append(
            _spec(
                opts,
                share_topic(recipient, et),
                TopicRole.SHARE,
                opts.share_partitions,
                limit,
                source,
                owner=recipient,
                event_type=et,
            )
        )
    return specs


def _hub_topics(opts: TopologyOptions) -> list[TopicSpec]:
    n = opts.hub_partitions
    # The audit store is rebuilt from these two topics, so they are never aged out.
    rebuilt_from = "kept forever: the audit store is rebuilt from it"
    return [
        _spec(opts, AUDIT_TOPIC, TopicRole.AUDIT, n, FOREVER, rebuilt_from),
        _spec(opts, RECEIPTS_TOPIC, TopicRole.RECEIPTS, n, FOREVER, rebuilt_from),
        _spec(
            opts,
            DEADLETTER_TOPIC,
            TopicRole.DEADLETTER,
            n,
            duration_ms(opts.deadletter_retention),
            f"default dead-letter retention {opts.deadletter_retention}",
        ),
        # Latest digest per (provider, event id), for as long as an id may be reused:
        # compacted, never aged out (the processors load it at start).
        _spec(
            opts,
            EVENTS_TOPIC,
            TopicRole.LEDGER,
            n,
            FOREVER,
            "compacted: one entry per provider and event id, kept forever",
            compact=True,
        ),
    ]


def _analytics_topics(partnership: Partnership, opts: TopologyOptions) -> list[TopicSpec]:
    """A changelog keeps the latest value per key (compacted, never aged out); the intake
    topic is re-read from the start on every restart, so it ages like a partner topic; the
    VRP reads its feed like its share topics."""
    specs = [
        _spec(
            opts,
            name,
            TopicRole.ANALYTICS,
            1,
            FOREVER,
            "compacted changelog of an analytics table",
            compact=True,
        )
        for name in ANALYTICS_CHANGELOGS
    ]
    specs.append(
        _spec(
            opts,
            ANALYTICS_INTAKE_TOPIC,
            TopicRole.ANALYTICS,
            1,
            duration_ms(opts.partner_retention),
            f"as partner topics ({opts.partner_retention})",
        )
    )
    if VRP_RECIPIENT in {r.id for r in partnership.recipients}:
        cap = _share_cap(opts)
        specs.append(
            _spec(
                opts,
                VRP_FEED_TOPIC,
                TopicRole.FEED,
                opts.share_partitions,
                cap if cap is not None else FOREVER,
                "analytics feed: anonymised weekly aggregates",
                owner=VRP_RECIPIENT,
                event_type="violence-aggregates",
            )
        )
    return specs
