"""Static group membership is opt-in, validated, and brings its own session timeout."""

from __future__ import annotations

import pytest

from hub.errors import ConfigError
from hub.kafka.config import consumer_config
from hub.membership import DEFAULT_STATIC_SESSION_MS, static_membership


def test_off_unless_an_instance_id_is_given() -> None:
    assert static_membership({}) == {}
    assert static_membership({"HUB_GROUP_INSTANCE_ID": "  "}) == {}


def test_instance_id_and_session_timeout() -> None:
    conf = static_membership({"HUB_GROUP_INSTANCE_ID": "hub-processor-0"})
    assert conf == {
        "group.instance.id": "hub-processor-0",
        "session.timeout.ms": DEFAULT_STATIC_SESSION_MS,
    }
    conf = static_membership(
        {"HUB_GROUP_INSTANCE_ID": "hub-processor-1", "HUB_GROUP_SESSION_TIMEOUT_MS": "30000"}
    )
    assert conf["session.timeout.ms"] == 30000


@pytest.mark.parametrize(
    "env",
    [
        {"HUB_GROUP_INSTANCE_ID": "has space"},
        {"HUB_GROUP_INSTANCE_ID": "p-0", "HUB_GROUP_SESSION_TIMEOUT_MS": "3000"},
        {"HUB_GROUP_INSTANCE_ID": "p-0", "HUB_GROUP_SESSION_TIMEOUT_MS": "soon"},
    ],
)
def test_bad_settings_are_refused_with_the_fix(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="HUB_GROUP"):
        static_membership(env)


def test_every_consumer_gets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "group.instance.id" not in consumer_config("b:9092", "g")
    monkeypatch.setenv("HUB_GROUP_INSTANCE_ID", "hub-processor-0")
    conf = consumer_config("b:9092", "g")
    assert conf["group.instance.id"] == "hub-processor-0"
    assert conf["session.timeout.ms"] == DEFAULT_STATIC_SESSION_MS
