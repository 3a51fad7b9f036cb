"""The benchmark's measuring pieces: CPU from /proc, the topic file, the codec floor, and
what-if over recorded bytes (the same decisions as the engine's)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import fastavro

from bench import cpu, stages
from connectors.synthetic.police import EVENT_TYPE, PARTNER, PoliceFeed
from hub.agreements import Agreement
from hub.catalogue import EventType
from hub.codec import wire
from hub.codec.schemas import WriterSchema
from hub.console.whatif import as_in_force
from hub.policy import PolicyEngine
from hub.policy.facts import event_time


def test_process_cpu_counts_this_process_burning() -> None:
    before = cpu.process_cpu(os.getpid())
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert cpu.process_cpu(os.getpid()) - before >= 0.2
    assert cpu.process_cpu(2**22 + 12345) == 0.0  # gone: nothing, no error


def test_helpers_are_the_verify_workers_among_children() -> None:
    """Only a child running the signature checker counts as the processor's helper."""
    code = "import time; time.sleep(30)"
    other = subprocess.Popen([sys.executable, "-c", code])
    worker = subprocess.Popen([sys.executable, "-c", code, "hub.identity.verify_worker"])
    try:
        time.sleep(0.2)
        assert other.pid in cpu.children(os.getpid())
        assert cpu.helpers(os.getpid()) == [worker.pid]
    finally:
        for p in (other, worker):
            p.kill()
            p.wait()


def test_topic_file_round_trips(tmp_path: Path) -> None:
    values = [b"", b"\x00\x00\x00\x00\x01abc", bytes(range(256)) * 3]
    path = tmp_path / "topic.bin"
    stages.write_topic_file(path, values)
    assert stages.read_topic_file(path) == values


def _recorded(concern_type: EventType, n: int) -> tuple[list[bytes], WriterSchema]:
    writer = WriterSchema(7, concern_type, concern_type.parsed)
    values = []
    for e in PoliceFeed(seed=3).events(n):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, concern_type.parsed, e)
        values.append(wire.HEADER.pack(0, 7) + buf.getvalue())
    return values, writer


def test_floor_times_decoding_and_encoding(concern_type: EventType) -> None:
    values, writer = _recorded(concern_type, 200)
    rec = stages.Recorded()
    for v in values:
        _sid, body = wire.split(v)
        rec.inputs.append((bytes(body), writer.parsed, None))
        rec.outputs.append((writer.parsed, wire.decode(body, writer.parsed)))
    floor = stages.floor_us(rec, 200)
    assert 1.0 < floor < 100_000.0


def test_whatif_decides_as_the_engine_under_the_draft(
    concern_type: EventType, reference_agreements: list[Agreement]
) -> None:
    values, writer = _recorded(concern_type, 50)
    eps, shared = stages.whatif_eps(
        values, lambda _sid: writer, reference_agreements, PARTNER, EVENT_TYPE, 100
    )
    draft = stages.draft_of(reference_agreements, PARTNER, EVENT_TYPE)
    assert draft.status.value == "draft"
    engine = PolicyEngine(
        [*(a for a in reference_agreements if a.id != draft.id), as_in_force(draft)]
    )
    want = 0
    for v in values * 2:
        event = wire.decode(wire.split(v)[1], writer.parsed)
        when = event_time(event, concern_type)
        assert when is not None
        want += sum(d.shared for d in engine.decide(event, concern_type, PARTNER, when))
    assert eps > 0 and shared == want > 0


def test_threads_cpu_counts_threads_by_name() -> None:
    main = Path(f"/proc/self/task/{os.getpid()}/comm").read_text().strip()
    before = cpu.threads_cpu(main)
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert cpu.threads_cpu(main) - before >= 0.2
    assert cpu.threads_cpu("no-such-thread-name") == 0.0


def test_the_profiling_pass_swaps_where_the_processor_decodes() -> None:
    """The pass times decode by swapping the ``wire`` attribute of the module that calls it:
    when admission moved to a module of its own, the pass silently timed nothing."""
    from hub.processor import processor as processor_module

    module = stages._admission_module() or processor_module
    assert module.wire is wire
    assert "wire.decode(" in Path(module.__file__ or "").read_text()
