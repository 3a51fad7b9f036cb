"""The HUB_KAFKA__* security settings reach every Kafka client the hub and the connectors
make (issue 16: four components used to build theirs without them, so the secured
deployment could not connect).

Two halves: a scan of the source proves that clients are made in one place only, the
runtime kit's connection (hub/kafka/connection.py); and each component, started with a
TLS setting that librdkafka checks when it builds a client (a CA file that does not exist),
fails on that setting, so the setting reached its client. The positive half, each
component working through a listener that requires TLS, is tests/kafka/test_tls.py.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException

from hub.config import Settings, load_settings
from hub.kafka import KafkaConnection
from tests.kafka.sasl import scram_security

ROOT = Path(__file__).resolve().parents[2]
KIT = "hub/kafka/connection.py"
CLIENTS = {
    "Consumer",
    "Producer",
    "AdminClient",
    "SerializingProducer",
    "DeserializingConsumer",
    "KafkaConsumer",
    "KafkaProducer",
    "KafkaAdminClient",
    "AIOKafkaConsumer",
    "AIOKafkaProducer",
}
CONFIG_BUILDERS = {"consumer_config", "producer_config", "admin_config"}
MISSING_CA = "/nonexistent/hub-test-ca.pem"


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for top in ("hub", "connectors"):
        for path in sorted((ROOT / top).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _kit_config_imports(tree: ast.Module) -> set[str]:
    """Names bound to the kit's raw configuration builders in this module."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (
            "hub.kafka.config",
            "hub.broker.client_config",
        ):
            out |= {a.asname or a.name for a in node.names if a.name in CONFIG_BUILDERS}
    return out


def test_every_kafka_client_is_made_by_the_connection() -> None:
    made: list[str] = []
    outside: list[str] = []
    faust_apps: list[tuple[str, ast.Call]] = []
    for where, tree in _sources():
        raw = _kit_config_imports(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            site = f"{where}:{node.lineno} {name}"
            if name in CLIENTS:
                (made if where == KIT else outside).append(site)
            elif name in raw and where != KIT:
                outside.append(site)  # a raw config has no security settings in it
            elif (
                name == "App"
                and isinstance(node.func, ast.Attribute)
                and getattr(node.func.value, "id", "") == "faust"
            ):
                faust_apps.append((where, node))
    assert outside == [], f"Kafka clients made outside the runtime kit: {outside}"
    # The kit makes a consumer, a producer and an admin client; nothing else makes any.
    assert sorted(s.split()[-1] for s in made) == ["AdminClient", "Consumer", "Producer"]
    # faust makes its own clients: its broker settings must be the connection's.
    assert faust_apps, "the analytics' faust app was not found"
    for where, call in faust_apps:
        spread = [k.value for k in call.keywords if k.arg is None]
        assert any(_name(getattr(v, "func", v)) == "faust_broker" for v in spread), where
        assert not {"broker", "broker_credentials"} & {k.arg for k in call.keywords}, where


def test_the_connection_puts_the_security_settings_last(tmp_path: Path) -> None:
    security = scram_security(
        tmp_path, "hub-processor", "s3cret-value", "SASL_SSL", ssl_ca_location=tmp_path / "ca.pem"
    )
    kafka = KafkaConnection.from_settings(Settings(bootstrap_servers="b:9093", kafka=security))
    wanted = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "hub-processor",
        "sasl.password": "s3cret-value",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }
    override = {"security.protocol": "PLAINTEXT"}  # a caller's extra cannot switch it off
    for conf in (
        kafka.consumer_config("g", **override),
        kafka.producer_config(**override),
        kafka.admin_config(**override),
    ):
        assert {k: conf[k] for k in wanted} == wanted
    assert "s3cret" not in repr(kafka)  # never in a log line
    sasl = KafkaConnection("b:9093", {k: v for k, v in wanted.items() if "ssl" not in k})
    faust = sasl.faust_broker()
    assert faust["broker"] == "kafka://b:9093"
    credentials = faust["broker_credentials"]
    assert (credentials.username, credentials.mechanism.name) == ("hub-processor", "SCRAM_SHA_512")


# -- each component, built with a TLS setting librdkafka checks at client creation ----------


@pytest.fixture
def missing_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The environment of a secured deployment whose CA file is missing: any client made
    with these settings fails at creation, naming ssl.ca.location."""
    monkeypatch.setenv("HUB_KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("HUB_KAFKA__SSL_CA_LOCATION", MISSING_CA)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    return load_settings(bootstrap_servers="127.0.0.1:1", schema_registry_url="http://127.0.0.1:1")


def _fails_on_the_ca(make: Callable[[], Any]) -> None:
    with pytest.raises(KafkaException, match=r"ssl\.ca\.location"):
        make()


def test_processor_and_ingester(missing_ca: Settings, tmp_path: Path) -> None:
    from hub.processor.build import build_ingester, build_processor

    _fails_on_the_ca(
        lambda: build_processor(missing_ca, bootstrap="127.0.0.1:1", registry_url="http://x")
    )
    _fails_on_the_ca(lambda: build_ingester(missing_ca, bootstrap="127.0.0.1:1", store=None))  # type: ignore[arg-type]


def test_sink_and_source(missing_ca: Settings, tmp_path: Path) -> None:
    from connectors.base.rejects import RejectLog
    from connectors.base.sink import SinkRunner
    from connectors.base.source import SourceContext
    from hub.catalogue.schemas import load_catalogue
    from hub.identity.keys import PartnerKeyStore

    _fails_on_the_ca(
        lambda: SinkRunner(
            name="s",
            recipient="liverpool-mash",
            writer=None,  # type: ignore[arg-type]
            bootstrap="127.0.0.1:1",
            registry_url="http://x",
            rejects=RejectLog(tmp_path / "rejects", "s"),
        )
    )
    context = SourceContext(
        name="src",
        partner="merseyside-police",
        signer=PartnerKeyStore(None, tmp_path / "keys").dev_signing_key("merseyside-police"),
        catalogue=load_catalogue(missing_ca.schemas_dir),
        bootstrap="127.0.0.1:1",
        registry_url="http://x",
        state_dir=tmp_path / "state",
    )
    try:
        _fails_on_the_ca(lambda: context.publisher("safeguarding-concern"))
    finally:
        context.checkpoints.close()


def test_analytics_intake_and_faust(missing_ca: Settings) -> None:
    from hub.analytics.app import credentials
    from hub.analytics.intake import IntakeLoop

    loop = IntakeLoop(
        bootstrap="127.0.0.1:1",
        topics=[],
        internal_topic="x",
        intake=None,  # type: ignore[arg-type]
        schemas=None,  # type: ignore[arg-type]
        public_keys={},
        group="g",
        on_read=lambda ok: None,
    )
    _fails_on_the_ca(loop._run)
    with pytest.raises(FileNotFoundError):  # faust's SSL context reads the same CA file
        credentials(missing_ca)


def test_whatif_replay_skip_and_topic_administration(missing_ca: Settings) -> None:
    from datetime import UTC, datetime

    from hub.broker.admin import end_offsets, ensure_topics
    from hub.catalogue.schemas import load_catalogue
    from hub.console.whatif import KafkaEventSource
    from hub.deploy.apply import _admin
    from hub.processor.replay import replay
    from hub.processor.skip import skip

    source = KafkaEventSource("127.0.0.1:1", "http://x", load_catalogue(missing_ca.schemas_dir))
    now = datetime.now(UTC)
    _fails_on_the_ca(lambda: list(source.read(["t"], now, now, 1)))
    _fails_on_the_ca(lambda: replay("127.0.0.1:1", lambda d: True))
    _fails_on_the_ca(
        lambda: skip(
            KafkaConnection.from_settings(missing_ca),
            group="g",
            topic="t",
            partition=0,
            offset=0,
            public_keys={},
            operator="test",
        )
    )
    _fails_on_the_ca(lambda: ensure_topics("127.0.0.1:1", ["t"]))
    _fails_on_the_ca(lambda: end_offsets("127.0.0.1:1", "t"))
    _fails_on_the_ca(
        lambda: _admin(
            {
                "bootstrap.servers": "127.0.0.1:1",
                "security.protocol": "SSL",
                "ssl.ca.location": MISSING_CA,
            }
        )
    )


def test_the_demo_partnership_sinks_and_sources_get_the_settings(missing_ca: Settings) -> None:
    """connectors.synthetic and connectors.base.runtime pass a bare address: the
    connection then takes the environment's settings (KafkaConnection.of)."""
    assert KafkaConnection.of("127.0.0.1:1").security == {
        "security.protocol": "SSL",
        "ssl.ca.location": MISSING_CA,
    }
