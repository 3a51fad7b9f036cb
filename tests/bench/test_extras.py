"""The benchmark's bookkeeping: null figures carry their reasons, an optional phase that
fails or is absent leaves its keys null, start-up CPU is left out of CPU per event, and the
memory row's arithmetic."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types

from pytest import MonkeyPatch

from bench import cpu, memory
from bench.extras import Phases, not_measured
from bench.processor import spread_pct
from bench.scaling import HubProcess, _watch_ready

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def test_every_null_figure_has_a_reason() -> None:
    record = {"quix_eps": None, "hub_eps": 2500.0, "rss_mb_10pct": None, "faust_note": None}
    got = not_measured(record, {"quix_eps": "quixstreams pins confluent-kafka < 2.13"})
    assert got == {
        "quix_eps": "quixstreams pins confluent-kafka < 2.13",
        "rss_mb_10pct": "not measured in this run",
    }  # the notes are reasons themselves, not figures


def test_a_failing_phase_leaves_its_keys_null_with_the_error() -> None:
    phases = Phases()

    def broken() -> dict[str, object]:
        raise RuntimeError("broker stalled at 700,000")

    phases.run(("a", "b"), broken)
    phases.run(("c", "d"), lambda: {"c": 1.0})
    assert phases.figures == {"a": None, "b": None, "c": 1.0, "d": None}
    assert "broker stalled" in phases.reasons["a"] and "RuntimeError" in phases.reasons["b"]
    assert not_measured(phases.figures, phases.reasons)["d"] == "not measured in this run"


def test_an_absent_module_is_reported_not_raised() -> None:
    phases = Phases()
    phases.optional_module("bench.no_such_module", ("x_eps",), lambda run: run())
    assert phases.figures == {"x_eps": None}
    assert "bench.no_such_module not available" in phases.reasons["x_eps"]


def test_a_module_phase_keeps_its_own_load_average_apart(monkeypatch: MonkeyPatch) -> None:
    """A phase module's load average (before, after its run) must not overwrite the run's."""
    module = types.ModuleType("bench_fake_phase")
    module.run = lambda rows: {"x_rows": rows, "load_average": [1.0, 2.0]}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench_fake_phase", module)
    phases = Phases()
    phases.optional_module("bench_fake_phase", ("x_rows", "x_eps"), lambda run: run(7))
    assert phases.figures == {
        "x_rows": 7,
        "x_eps": None,
        "bench_fake_phase_load_average": [1.0, 2.0],
    }


def test_skipped_rows_say_so() -> None:
    phases = Phases()
    phases.memory(0, print)
    phases.demo(0)
    assert phases.figures["rss_mb_100pct"] is None and phases.figures["demo_wall_s"] is None
    assert phases.reasons["rss_growth_pct"] == "skipped (--rss-events 0)"


def test_spread_and_growth() -> None:
    assert spread_pct([100.0, 105.0, 110.0]) == 10.0
    assert memory.growth_pct([200.0, 210.0, 204.0]) == 2.0
    mem = memory.Memory(500, [50, 500], [190.0, 200.0], [200.0, 210.0])
    got = memory.figures(mem)
    assert (got["rss_mb_10pct"], got["rss_mb_100pct"], got["rss_growth_pct"]) == (
        200.0,
        210.0,
        5.0,
    )
    assert set(memory.figures(None)) >= {"rss_mb_10pct", "rss_mb_100pct", "rss_growth_pct"}


def test_start_up_cpu_is_left_out() -> None:
    """A process that burns 0.4 s before saying it is consuming and 0.2 s after: only the
    0.2 s counts."""
    code = BURN.format(s=0.4) + "print('consuming', flush=True)\n" + BURN.format(s=0.2)
    code += "time.sleep(1)\nprint('stopped: 12 records, 3 shared, 9 withheld', flush=True)\n"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    hp = HubProcess(child, threading.Event())
    threading.Thread(target=_watch_ready, args=(hp,), daemon=True).start()
    try:
        assert hp.ready.wait(30)
        deadline = time.monotonic() + 30
        while cpu.process_cpu(child.pid) < 0.6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.3 <= hp.cpu_at_ready < 0.55
        assert 0.15 <= hp.cpu_since_ready() < 0.35
        assert hp.done.wait(30) and hp.consumed == 12  # its own count of records, at the end
    finally:
        child.kill()
        child.wait()


def test_memory_of_a_child_from_proc() -> None:
    code = "b = bytearray(64 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
    code += "print('ok', flush=True)\nimport time; time.sleep(30)\n"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ok\n"
        assert cpu.status_mb(child.pid, "VmRSS") >= 64
        assert cpu.status_mb(child.pid, "VmHWM") >= cpu.status_mb(child.pid, "VmRSS") - 1
    finally:
        child.kill()
        child.wait()
    assert cpu.status_mb(child.pid, "VmRSS") == 0.0  # gone: nothing, no error
