"""Reading by assignment: every partition of some topics from its first offset, no group.

The readers that keep no offsets (the analytics intake, dead-letter replay, the event
ledger's load) must each see every record: as members of one group they would split the
partitions between them, and a commit would make the next start skip what came before.
"""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def partitions(consumer: Consumer, topics: Sequence[str], timeout: float) -> list[tuple[str, int]]:
    """Every partition of those of ``topics`` that exist now, from one metadata request.
    One topic is asked for by name (the broker answers for it alone)."""
    meta = consumer.list_topics(topics[0] if len(topics) == 1 else None, timeout=timeout)
    found = [(t, meta.topics.get(t)) for t in topics]
    return [(t, p) for t, m in found if m is not None for p in sorted(m.partitions)]


def assign_from_start(
    consumer: Consumer, topics: Sequence[str], timeout: float
) -> list[tuple[str, int]]:
    """Assign every partition of ``topics`` (those that exist) from its first offset;
    returns what was assigned."""
    parts = partitions(consumer, topics, timeout)
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in parts])
    return parts
