"""hub.translate's Kafka error codes: compared by code, never by message text."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from hub.broker import EmbeddedBroker, ensure_topics
from hub.translate import already_exists, kafka_error_code


def test_codes_are_read_from_the_error_not_its_text() -> None:
    exists = KafkaException(KafkaError(KafkaError.TOPIC_ALREADY_EXISTS, "some other wording"))
    assert already_exists(exists)
    assert kafka_error_code(exists) == KafkaError.TOPIC_ALREADY_EXISTS
    # The words alone are not the code: a message quoting them is another error.
    quoting = KafkaException(KafkaError(KafkaError.POLICY_VIOLATION, "TOPIC_ALREADY_EXISTS?"))
    assert not already_exists(quoting)
    assert kafka_error_code(RuntimeError("no code")) is None


@pytest.mark.integration
def test_the_brokers_answer_to_a_second_create_is_recognised(broker: EmbeddedBroker) -> None:
    ensure_topics(broker.bootstrap, ["t-translate-exists"])
    ensure_topics(broker.bootstrap, ["t-translate-exists"])  # listed: nothing to create
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    future = admin.create_topics([NewTopic("t-translate-exists", 1, 1)])["t-translate-exists"]
    with pytest.raises(KafkaException) as refused:
        future.result(10)
    assert already_exists(refused.value), refused.value
