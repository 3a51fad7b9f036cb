"""Applying the plan through the admin API, against a recording stand-in AdminClient
(the embedded broker cannot take ACL requests; see test_embedded_topology.py for topics)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin._acl import AclBinding, AclOperation, AclPermissionType
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from hub.deploy.acls import AclPlan
from hub.deploy.apply import acl_binding, apply_plan
from hub.deploy.topology import Topology
from hub.errors import BrokerUnavailable


def _done(value: Any = None) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_result(value)
    return f


def _failed(code: int) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_exception(KafkaException(KafkaError(code)))
    return f


class _Metadata:
    def __init__(self, topics: set[str]) -> None:
        self.topics = dict.fromkeys(topics)


class _Entry:
    def __init__(self, value: str) -> None:
        self.value = value


class RecordingAdmin:
    def __init__(
        self,
        existing_topics: set[str],
        existing_acls: list[AclBinding],
        configs: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.existing_topics = existing_topics
        self.configs = configs or {}
        self.altered: list[Any] = []
        self.existing_acls = existing_acls
        self.created_topics: list[Any] = []
        self.created_acls: list[AclBinding] = []
        self.deleted: list[Any] = []
        self.scram: list[Any] = []
        self.create_outcome: dict[str, Future[Any]] = {}  # a topic's create_topics future

    def list_topics(self, timeout: float) -> _Metadata:
        return _Metadata(self.existing_topics)

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        return {
            r: _done({k: _Entry(v) for k, v in self.configs.get(r.name, {}).items()})
            for r in resources
        }

    def incremental_alter_configs(self, resources: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        self.altered += resources
        return {r: _done() for r in resources}

    def create_topics(self, topics: list[Any], **_: Any) -> dict[str, Future[Any]]:
        self.created_topics += topics
        return {t.topic: self.create_outcome.get(t.topic, _done()) for t in topics}

    def create_acls(self, acls: list[AclBinding], **_: Any) -> dict[AclBinding, Future[Any]]:
        self.created_acls += acls
        return {a: _done() for a in acls}

    def describe_acls(self, query: Any, **_: Any) -> Future[Any]:
        return _done([a for a in self.existing_acls if a.principal == query.principal])

    def delete_acls(self, filters: list[Any], **_: Any) -> dict[Any, Future[Any]]:
        self.deleted += filters
        return {f: _done() for f in filters}

    def alter_user_scram_credentials(self, alterations: list[Any], **_: Any) -> dict[str, Any]:
        self.scram += alterations
        return {a.user: _done() for a in alterations}


def test_apply_creates_missing_topics_literal_acls_and_users(
    topology: Topology, plan: AclPlan
) -> None:
    admin = RecordingAdmin({"hub.audit.v1"}, [])
    report = apply_plan(
        {"bootstrap.servers": "x"},
        topology,
        plan,
        passwords={"hub-processor": b"p" * 24},
        admin_factory=lambda _conf: admin,  # type: ignore[arg-type,return-value]
    )
    created = {t.topic: t for t in admin.created_topics}
    assert set(created) == {t.name for t in topology.topics} - {"hub.audit.v1"}
    share = created["share.liverpool-mash.safeguarding-concern.v1"]
    assert share.replication_factor == 3
    assert report.existing_topics == ["hub.audit.v1"]
    assert len(admin.created_acls) == len(plan.grants)
    assert {a.resource_pattern_type for a in admin.created_acls} == {ResourcePatternType.LITERAL}
    assert {a.permission_type for a in admin.created_acls} == {AclPermissionType.ALLOW}
    assert [a.user for a in admin.scram] == ["hub-processor"]
    assert report.users == ["hub-processor"]


def test_prune_removes_only_stale_grants_of_plan_principals(
    topology: Topology, plan: AclPlan
) -> None:
    stale = AclBinding(
        ResourceType.TOPIC,
        "partner.merseyside-police.",
        ResourcePatternType.PREFIXED,
        "User:partner-merseyside-police",
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    foreign = AclBinding(
        ResourceType.TOPIC,
        "other",
        ResourcePatternType.LITERAL,
        "User:someone-else",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    current = acl_binding(plan.grants[0])
    admin = RecordingAdmin(set(), [stale, foreign, current])
    report = apply_plan(
        {},
        topology,
        plan,
        prune=True,
        admin_factory=lambda _conf: admin,  # type: ignore[arg-type,return-value]
    )
    assert len(admin.deleted) == 1
    assert admin.deleted[0].name == "partner.merseyside-police."
    assert len(report.acls_removed) == 1


def test_topics_only_for_brokers_without_an_authorizer(topology: Topology, plan: AclPlan) -> None:
    admin = RecordingAdmin(set(), [])
    apply_plan({}, topology, plan, acls=False, admin_factory=lambda _c: admin)  # type: ignore[arg-type,return-value]
    assert admin.created_topics and not admin.created_acls


def test_existing_topic_settings_follow_the_plan(topology: Topology, plan: AclPlan) -> None:
    """An agreement's retention changed after its share topic was created."""
    name = "share.merseyside-iom.probation-update.v1"
    spec = topology.topic(name)
    assert spec is not None
    stale = {**spec.config, "retention.ms": "999"}
    admin = RecordingAdmin({name, "hub.audit.v1"}, [], {name: stale, "hub.audit.v1": {}})
    admin.configs["hub.audit.v1"] = dict(topology.topic("hub.audit.v1").config)  # type: ignore[union-attr]
    report = apply_plan({}, topology, plan, acls=False, admin_factory=lambda _c: admin)  # type: ignore[arg-type,return-value]
    assert [r.name for r in admin.altered] == [name]
    (entry,) = admin.altered[0].incremental_configs
    assert (entry.name, entry.value) == ("retention.ms", spec.config["retention.ms"])
    assert report.altered_configs == [f"{name}: retention.ms 999 -> {spec.config['retention.ms']}"]


def test_a_topic_created_meanwhile_by_another_run_counts_as_created(
    topology: Topology, plan: AclPlan
) -> None:
    name = "share.merseyside-iom.probation-update.v1"
    admin = RecordingAdmin(set(), [])
    admin.create_outcome[name] = _failed(KafkaError.TOPIC_ALREADY_EXISTS)
    report = apply_plan({}, topology, plan, acls=False, admin_factory=lambda _c: admin)  # type: ignore[arg-type,return-value]
    assert set(report.created_topics) == {t.name for t in topology.topics}


def test_a_topic_the_broker_refuses_stops_the_apply_naming_it(
    topology: Topology, plan: AclPlan
) -> None:
    name = "share.merseyside-iom.probation-update.v1"
    admin = RecordingAdmin(set(), [])
    admin.create_outcome[name] = _failed(KafkaError.POLICY_VIOLATION)
    with pytest.raises(BrokerUnavailable, match=f"cannot create topic {name}"):
        apply_plan({}, topology, plan, acls=False, admin_factory=lambda _c: admin)  # type: ignore[arg-type,return-value]
