"""The Kafka runtime kit under every component (docs/architecture.md, "The runtime kit").

- :class:`KafkaConnection`: bootstrap servers and security settings; makes every client;
- :class:`CheckedProducer`: the size rule, BufferError back-off, delivery errors kept,
  ``flush_or_raise``;
- :class:`Offsets`: ``advance``, ``positions``, ``commit`` never past an unacknowledged record;
- :class:`BatchLoop`: adaptive batches (``next_batch``) -> a component's handler -> commit;
- ``assign_from_start``: every partition of some topics from its first offset (no group).
"""

from hub.kafka.assign import assign_from_start, partitions
from hub.kafka.config import DEFAULT_MAX_MESSAGE_BYTES
from hub.kafka.connection import KafkaConnection
from hub.kafka.loop import Batch, BatchLoop, sort_out
from hub.kafka.offsets import Offsets
from hub.kafka.producer import CheckedProducer, DeliveryFailed, RecordTooLarge, record_size
from hub.kafka.records import Headers, coordinates, header, headers_bytes, next_batch

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "Batch",
    "BatchLoop",
    "CheckedProducer",
    "DeliveryFailed",
    "Headers",
    "KafkaConnection",
    "Offsets",
    "RecordTooLarge",
    "assign_from_start",
    "coordinates",
    "header",
    "headers_bytes",
    "next_batch",
    "partitions",
    "record_size",
    "sort_out",
]
