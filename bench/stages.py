"""Where the processor's time goes, the codec floor, and what-if speed: in-process passes.

A profiling pass runs a real processor (``build_processor``) over the same N input events
as the throughput run, in its own consumer group, with a CPU clock around each stage
it calls: decode (``wire.decode``), decide (the compiled stream, ``compiled.decide``),
transform+encode (the field program and ``wire.encode``), identity (``content_digest``),
audit (``AuditRecord.of_decision`` and producing the decisions). Verify is the CPU of the verifier's
thread and helper process over the pass (it runs off the main thread). ``other`` is the
rest of the pass's CPU per event: consume, produce, flush, commit, the loop. Each stage is
the processing thread's CPU inside its calls (``time.thread_time``: waiting for the GIL or
for a core on a loaded machine does not count); the clock itself costs about a microsecond
a reading here, some 30 µs an event in all, which this pass adds and the others do not.

The pass also records what the codec floor needs: each input's bytes and writer schema as
decoded, and each disclosure's actual output record and schema as encoded. The floor is
then timed on this thread over exactly those: decode each input once, encode each output
once, with fastavro, nothing else.

What-if: the recorded input bytes are written to a file and read back (the embedded
broker's memory storage stalls past about 700,000 records), decoded as the processor
decodes them and re-decided through the compiled stream under a draft version of the
reference agreement, as ``hub agreements whatif`` and the console do (hub/console/
whatif.py: the draft as if in force, at each event's time).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro

import hub.processor.processor as processor_module
from bench import cpu
from hub.agreements.models import Agreement, Status
from hub.audit.records import AuditRecord
from hub.codec import wire
from hub.console.whatif import as_in_force
from hub.policy.engine import PolicyEngine
from hub.policy.facts import event_time

try:  # the compiled path (issue 17); absent when this is run on an older checkout to compare
    from hub.policy import compiled
    from hub.privacy import program
except ImportError:  # pragma: no cover - only on a checkout from before them
    compiled = program = None  # type: ignore[assignment]

STAGES = ("verify", "decode", "identity", "decide", "transform_encode", "audit", "produce")


@dataclass
class Recorded:
    """What the profiling pass saw: inputs as decoded, outputs as encoded."""

    values: list[bytes] = field(default_factory=list)  # wire-format values, as consumed
    inputs: list[tuple[bytes, Any, Any]] = field(default_factory=list)  # body, writer, reader
    outputs: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # schema, record


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[stage] += time.thread_time() - start

        return timed


class _Shim:
    """A module with some functions replaced (the processor reads them as attributes)."""

    def __init__(self, module: Any, **replaced: Any) -> None:
        self._module = module
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _verify_cpu() -> float:
    """CPU seconds of the verifier's thread(s) and helper process in this process."""
    total = sum(cpu.process_cpu(c) for c in cpu.helpers(os.getpid()))
    for t in threading.enumerate():
        if t.name.startswith("hub-verify") and t.native_id is not None:
            path = Path(f"/proc/self/task/{t.native_id}/schedstat")
            with contextlib.suppress(OSError):
                total += int(path.read_text().split()[0]) / 1e9
    return total


def instrument(
    proc: processor_module.Processor, recorded: Recorded
) -> tuple[_Clock, Callable[[], None]]:
    """Time ``proc``'s stages and record its inputs and outputs; returns the clock and a
    function that undoes it."""
    clock = _Clock()
    names = ("wire", "compiled", "program", "content_digest")
    saved = {
        name: getattr(processor_module, name) for name in names if hasattr(processor_module, name)
    }

    def decode(body: memoryview, writer: Any, reader: Any = None) -> dict[str, Any]:
        recorded.inputs.append((bytes(body), writer, reader))
        return wire.decode(body, writer, reader)

    def split(value: bytes | None) -> tuple[int, memoryview]:
        recorded.values.append(value or b"")
        return wire.split(value)

    def encode(schema_id: int, parsed: Any, record: dict[str, Any]) -> bytes:
        recorded.outputs.append((parsed, record))
        return wire.encode(schema_id, parsed, record)

    # The processor reads these as module attributes: swapped for timed ones in this pass.
    swapped: dict[str, Any] = {
        "wire": _Shim(
            wire,
            split=split,
            decode=clock.wrap("decode", decode),
            encode=clock.wrap("transform_encode", encode),
        ),
        "content_digest": clock.wrap("identity", saved["content_digest"]),
    }
    on_instance: list[tuple[Any, str]] = []
    if "compiled" in saved:
        swapped["compiled"] = _Shim(compiled, decide=clock.wrap("decide", compiled.decide))
    else:  # before issue 17: the engine decides
        on_instance.append((proc._engine, "decide"))
    if "program" in saved:
        swapped["program"] = _Shim(
            program, apply_with_notes=clock.wrap("transform_encode", program.apply_with_notes)
        )
    else:  # before issue 17: the transformer walks the plan
        on_instance.append((proc._transformer, "apply_with_notes"))
    for name, value in swapped.items():
        setattr(processor_module, name, value)
    # Admission (split and decode) lives in a module of its own: its ``wire`` too.
    admission = _admission_module()
    if admission is not None:
        setattr(admission, "wire", swapped["wire"])  # noqa: B010
    # The subject's audit tokens are for the audit; the events ledger is the event's identity.
    on_instance += [(proc._transformer, "subjects"), (proc._ledger, "entry"), (proc._ledger, "put")]
    on_instance.append((proc, "_produce"))
    stage = {
        "decide": "decide",
        "apply_with_notes": "transform_encode",
        "subjects": "audit",
        "entry": "identity",
        "put": "identity",
        "_produce": "produce",
    }
    for target, name in on_instance:
        setattr(target, name, clock.wrap(stage[name], getattr(target, name)))
    produce = proc._produce_decisions
    setattr(proc, "_produce_decisions", clock.wrap("audit", produce))  # noqa: B010
    # The audit record's constructor, on its class: swapped for a timed one in this pass.
    of_decision = AuditRecord.__dict__["of_decision"]
    AuditRecord.of_decision = classmethod(  # type: ignore[method-assign, assignment]
        clock.wrap("audit", of_decision.__func__)
    )

    def undo() -> None:
        for name, value in saved.items():
            setattr(processor_module, name, value)
        if admission is not None:
            setattr(admission, "wire", wire)  # noqa: B010
        AuditRecord.of_decision = of_decision  # type: ignore[method-assign]
        setattr(proc, "_produce_decisions", produce)  # noqa: B010
        for target, name in on_instance:
            delattr(target, name)  # the class's method again

    return clock, undo


def _admission_module() -> Any:
    """The module whose ``decode_admitted`` the processor calls (it has moved before), or
    None when the processor decodes in its own module."""
    fn = getattr(processor_module, "decode_admitted", None)
    module = sys.modules.get(getattr(fn, "__module__", "")) if fn is not None else None
    return module if module is not None and module is not processor_module else None


class NothingTimed(RuntimeError):
    """The profiling pass saw none of the calls it times: the processor's code moved."""


@dataclass
class Profile:
    stage_us: dict[str, float]
    cpu_us_per_event: float  # this process's CPU (all threads) plus the helper, per event
    events: int


def profile(
    proc: processor_module.Processor, run: Callable[[], int], recorded: Recorded
) -> Profile:
    """Run ``run`` (which drives ``proc`` over the input and returns the events consumed)
    with the stages instrumented."""
    clock, undo = instrument(proc, recorded)
    helper = sum(cpu.process_cpu(c) for c in cpu.helpers(os.getpid()))
    verify0, cpu0 = _verify_cpu(), time.process_time()
    kafka0 = cpu.threads_cpu("rdk:")
    try:
        n = run()
    finally:
        undo()
    total = (
        time.process_time()
        - cpu0
        + sum(cpu.process_cpu(c) for c in cpu.helpers(os.getpid()))
        - helper
    )
    # Swapping attributes sees only the calls made through them: when the processor's code
    # moves, fail loudly rather than report a stage of 0 µs and a floor over nothing.
    unseen = [s for s in STAGES if s != "verify" and not clock.seconds.get(s)]
    if not recorded.inputs or not recorded.outputs or unseen:
        raise NothingTimed(
            f"profiling pass over {n} events: {len(recorded.inputs)} decodes and "
            f"{len(recorded.outputs)} encodes seen, no time in {unseen}; the processor no "
            "longer calls them where bench/stages.instrument swaps them"
        )
    stages = {s: clock.seconds.get(s, 0.0) / n * 1e6 for s in STAGES}
    stages["verify"] = (_verify_cpu() - verify0) / n * 1e6
    # The Kafka client's own threads (librdkafka: fetching, producing, acknowledgements).
    stages["kafka_client"] = (cpu.threads_cpu("rdk:") - kafka0) / n * 1e6
    stages["other"] = max(0.0, total / n * 1e6 - sum(stages.values()))
    return Profile({k: round(v, 1) for k, v in stages.items()}, total / n * 1e6, n)


def floor_us(recorded: Recorded, events: int) -> float:
    """Codec floor per event: decode each recorded input once, encode each recorded output
    once, with fastavro's schemaless reader and writer, CPU of this thread."""
    inputs = recorded.inputs[:events]
    start = time.thread_time()
    for body, writer, reader in inputs:
        fastavro.schemaless_reader(io.BytesIO(body), writer, reader)
    for parsed, record in recorded.outputs:
        fastavro.schemaless_writer(io.BytesIO(), parsed, record)
    return (time.thread_time() - start) / max(1, len(inputs)) * 1e6


_LEN = struct.Struct(">I")


def write_topic_file(path: Path, values: list[bytes]) -> None:
    """Recorded topic bytes (Confluent wire format values), length-prefixed."""
    with path.open("wb") as fh:
        for v in values:
            fh.write(_LEN.pack(len(v)))
            fh.write(v)


def read_topic_file(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, at = [], 0
    while at < len(data):
        (n,) = _LEN.unpack_from(data, at)
        out.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def draft_of(agreements: list[Agreement], provider: str, event_type: str) -> Agreement:
    """A draft next version of the reference agreement with most recipients on the stream."""
    covering = [a for a in agreements if provider in a.providers and event_type in a.event_types]
    base = max(covering, key=lambda a: (len(a.recipients), a.id, a.version))
    return base.model_copy(update={"version": base.version + 1, "status": Status.DRAFT})


def whatif_eps(
    values: list[bytes],
    writer_for: Callable[[int], Any],
    agreements: list[Agreement],
    provider: str,
    event_type: str,
    events: int,
) -> tuple[float, int]:
    """Events/s re-decided under a draft, cycling over ``values`` until ``events``; and the
    decisions that shared."""
    draft = draft_of(agreements, provider, event_type)
    engine = PolicyEngine([*(a for a in agreements if a.id != draft.id), as_in_force(draft)])
    shared = 0
    start = time.perf_counter()
    for i in range(events):
        schema_id, body = wire.split(values[i % len(values)])
        writer = writer_for(schema_id)
        event = wire.decode(body, writer.parsed, writer.reader)
        when = event_time(event, writer.event_type)
        assert when is not None
        decided = (
            compiled.decide(engine, event, writer.event_type, provider, when)
            if compiled is not None
            else engine.decide(event, writer.event_type, provider, when)
        )
        for d in decided:
            shared += d.shared
    return events / (time.perf_counter() - start), shared
