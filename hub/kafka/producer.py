"""The checked producer: every record the hub and its connectors produce goes through it.

- the size rule, in one place: a record over the producer's limit is refused here with
  :class:`RecordTooLarge`, before librdkafka sees it (librdkafka would raise
  ``MSG_SIZE_TOO_LARGE``, and a broker with a lower limit would fail the delivery later,
  which left a whole batch uncommittable: issue 15);
- a full local queue (``BufferError``) is waited out by serving delivery reports;
- delivery failures are kept, and :meth:`CheckedProducer.flush_or_raise` raises while any
  record is unacknowledged or failed, so offsets are never committed past one.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from hub.errors import BrokerUnavailable, HubError, Terminal

HeaderItems = Iterable[tuple[str, bytes]]

# What librdkafka adds to a record beyond its key, value and headers (attributes, varints,
# the record batch header), with room to spare: the check must refuse first.
RECORD_OVERHEAD = 512
_HEADER_OVERHEAD = 8  # per header: the name and value lengths


def record_size(value: bytes | None, key: bytes | None, headers: HeaderItems = ()) -> int:
    """Bytes a record occupies on the wire, as the producer's limit counts them."""
    size = RECORD_OVERHEAD + (len(value) if value else 0) + (len(key) if key else 0)
    for name, data in headers:
        size += _HEADER_OVERHEAD + len(name) + (len(data) if data else 0)
    return size


class RecordTooLarge(HubError, Terminal):
    """A record over the producer's limit: never queued. The caller decides what it means
    (the processor dead-letters the input it came from, by reference)."""

    code = "record-too-large"

    def __init__(self, topic: str, size: int, limit: int) -> None:
        super().__init__(
            f"a record for {topic} would be {size} bytes, over the producer's "
            f"{limit}-byte limit (HUB_MAX_MESSAGE_BYTES)"
        )
        self.topic = topic
        self.size = size
        self.limit = limit


class DeliveryFailed(BrokerUnavailable):
    """The broker refused or did not acknowledge records: nothing past them is committed;
    the batch is handled again after a restart."""


class CheckedProducer:
    """A confluent-kafka producer with the hub's rules around it (see the module doc)."""

    def __init__(self, producer: Producer, max_bytes: int) -> None:
        self._producer = producer
        self.max_bytes = max_bytes
        self._errors: list[str] = []

    @classmethod
    def wrap(cls, producer: Producer | CheckedProducer, max_bytes: int) -> CheckedProducer:
        return producer if isinstance(producer, CheckedProducer) else cls(producer, max_bytes)

    @property
    def raw(self) -> Producer:
        """The client itself, for transactions (Apache Kafka only)."""
        return self._producer

    def fits(self, value: bytes | None, key: bytes | None, headers: HeaderItems = ()) -> bool:
        return record_size(value, key, headers) <= self.max_bytes

    def check(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: HeaderItems | None = None,
    ) -> None:
        """Raise :class:`RecordTooLarge` if the record is over the limit (the size rule)."""
        size = record_size(value, key, headers or ())
        if size > self.max_bytes:
            raise RecordTooLarge(topic, size, self.max_bytes)

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one record; :class:`RecordTooLarge` if it is over the limit (nothing queued)."""
        self.check(topic, value, key, headers)
        self.send(topic, value, key, headers)

    def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue a record already checked with :meth:`check`."""
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=headers or [],  # type: ignore[arg-type]  # stub is invariant
                    on_delivery=self._on_delivery,
                )
                return
            except BufferError:
                # Local queue full: serve delivery reports so it drains, then try again.
                self._producer.poll(0.1)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError) and err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    size = record_size(value, key, headers or ())
                    raise RecordTooLarge(topic, size, self.max_bytes) from exc
                raise BrokerUnavailable(f"cannot produce to {topic}: {exc}") from exc

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}[{msg.partition()}]: {err}")

    def poll(self, timeout: float = 0) -> int:
        served: int = self._producer.poll(timeout)
        return served

    @property
    def failed(self) -> bool:
        return bool(self._errors)

    def flush_or_raise(self, timeout: float = 30.0) -> None:
        """Return once every queued record is acknowledged; raise :class:`DeliveryFailed`
        if any is not (still queued after ``timeout``, or refused by the broker)."""
        remaining = self._producer.flush(timeout)
        if remaining or self._errors:
            errors, self._errors = self._errors[:5], []
            raise DeliveryFailed(
                f"{remaining} records unacknowledged after {timeout:.0f}s; refused: {errors}. "
                "Offsets not committed: the batch will be handled again."
            )

    def take_errors(self) -> list[str]:
        errors, self._errors = self._errors, []
        return errors

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what can be delivered in ``timeout``; what is left is redelivered from the
        uncommitted input after a restart."""
        self._producer.flush(timeout)
        close = getattr(self._producer, "close", None)
        if close is not None:
            close()
