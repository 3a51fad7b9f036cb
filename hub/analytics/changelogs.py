"""What the analytics' changelog topics hold, read to their true end.

faust restores a table by reading its changelog up to the end offset the broker reports,
and stops once its position reaches it. The embedded broker reports a partition's end as
its last produce batch's first offset + 1, so the rest of that batch could be left out of
the restore: a restarted worker then forgot an assault it had counted, or an alert it had
raised, and did it again (seen in CI). After faust's restore, the worker reads each
changelog to the end the client's end-of-partition event reports (which follows the
records actually fetched, not a queried watermark) and makes the table say exactly what
the changelog says. On Apache Kafka the two agree and this changes nothing.

Plain confluent-kafka, no faust: called on a thread, so the event loop stays free.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from hub.errors import BrokerUnavailable
from hub.kafka import BatchLoop, KafkaConnection, assign_from_start

State = dict[Any, Any]


def read_changelogs(
    kafka: KafkaConnection, topics: Sequence[str], group: str, timeout: float = 60.0
) -> dict[str, State]:
    """topic -> {key: latest value} over every record of each topic (faust's JSON keys and
    values; a null value deletes the key, as faust's own restore does). ``group``: a group
    id the worker's principal is granted (the intake's); the reader is assigned, so it
    joins no group and commits nothing."""
    states: dict[str, State] = {t: {} for t in topics}
    consumer = kafka.consumer(group, **{"enable.partition.eof": True})
    loop = BatchLoop(consumer, name="analytics changelogs", size=500, wait=0.5, commit=False)
    try:
        pending = set(assign_from_start(consumer, list(topics), timeout))
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(
                    f"the analytics changelogs {sorted(t for t, _ in pending)} did not reach "
                    f"their end in {timeout:.0f}s"
                )
            batch = loop.poll()
            pending.difference_update(batch.ended)
            for msg in batch.records:
                raw_key, raw_value = msg.key(), msg.value()
                if raw_key is None:
                    continue
                state = states[msg.topic() or ""]
                key = json.loads(raw_key)
                if raw_value is None:
                    state.pop(key, None)
                else:
                    state[key] = json.loads(raw_value)
    finally:
        consumer.close()
    return states


def make_equal(table: MutableMapping[Any, Any], state: Mapping[Any, Any]) -> int:
    """Make ``table`` (a faust table's store: writes there go to no changelog) hold exactly
    ``state``; returns how many entries it had to change."""
    changed = 0
    for key in [k for k in table if k not in state]:
        del table[key]
        changed += 1
    for key, value in state.items():
        if table.get(key) != value:
            table[key] = value
            changed += 1
    return changed
