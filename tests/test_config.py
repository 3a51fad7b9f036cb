"""Settings: Kafka client security from HUB_KAFKA__*, the password only from a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import KafkaSecurity, Settings
from hub.errors import ConfigError
from tests.kafka_env import scram_env


def test_plaintext_needs_nothing() -> None:
    assert Settings().kafka.client_config() == {}


def test_sasl_scram_reads_the_password_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scram_env(monkeypatch, tmp_path, "hub-processor", "s3cret-from-a-mounted-file")
    monkeypatch.setenv("HUB_KAFKA__SSL_CA_LOCATION", "/etc/hub/ca.pem")
    conf = Settings().kafka.client_config()
    assert conf == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "hub-processor",
        "sasl.password": "s3cret-from-a-mounted-file",
        "ssl.ca.location": "/etc/hub/ca.pem",
    }
    assert "s3cret" not in repr(Settings().kafka), "the password is never held in settings"


def test_sasl_without_credentials_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_KAFKA__SASL_USERNAME"):
        KafkaSecurity(security_protocol="SASL_SSL").client_config()
    missing = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password_file=tmp_path / "absent",
    )
    with pytest.raises(ConfigError, match="cannot read the Kafka password file"):
        missing.client_config()
