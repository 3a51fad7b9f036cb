"""The benchmark's result: one record, a plain-text table and the JSON line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.latency import Latency

NOTE = (
    "The machine is shared and noisy: absolute figures move between runs; the ratios from "
    "the same run (same broker, same input, same moment) are the point."
)


@dataclass
class Result:
    events: int
    raw_eps: float
    hub_eps: float
    faust_eps: float | None
    hub_vs_raw: float
    hub_vs_faust: float | None
    p50_ms: float | None
    p99_ms: float | None
    latency_rate: int
    latency_sent: int
    latency_samples: int
    latency_saturated: bool
    steady_rate: int | None  # half the hub's measured throughput, when below 2,000/s
    steady_p50_ms: float | None
    steady_p99_ms: float | None
    peak_rss_mb: float
    hub_shared: int
    hub_withheld: int
    faust_shared: int | None
    faust_note: str | None
    one_instance_eps: float | None = None  # `hub process` x1, own process
    two_instances_eps: float | None = None  # `hub process` x2 in one consumer group
    three_instances_eps: float | None = None  # `hub process` x3 in one consumer group
    scaling: float | None = None  # two / one
    # CPU per event of one `hub process` and its signature helper, /proc utime + stime
    cpu_us_per_event: float | None = None
    cpu_us_per_event_by_processes: dict[str, float] | None = None  # the same, per group size
    cpu_spread_pct: float | None = None  # largest over smallest of those, less 1, in % (<= 10)
    floor_us_per_event: float | None = None  # fastavro: decode each input, encode each output
    cpu_vs_floor: float | None = None
    stage_us: dict[str, float] | None = None  # profiling pass (bench/stages.py)
    profile_cpu_us_per_event: float | None = None  # that pass's own CPU per event
    whatif_eps: float | None = None  # re-decided under a draft, from recorded topic bytes
    whatif_events: int | None = None
    whatif_1m_seconds: float | None = None
    p50_ms_200: float | None = None
    p99_ms_200: float | None = None
    quix_eps: float | None = None
    hub_vs_quix: float | None = None
    quix_shared: int | None = None  # disclosures the Quix application produced
    quix_cpu_us_per_event: float | None = None  # its process's CPU, every thread
    quix_stage_us: dict[str, float] | None = None  # of which its work's steps, and the rest
    quix_note: str | None = None
    load_average: list[float] | None = None  # 1, 5, 15 min, at the end of the run


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "not measured" if v is None else format(v, spec)


def table(r: Result, lat: Latency, rss_before_mb: float, more: dict[str, Any]) -> str:
    rows = [
        ("(a) raw copy, confluent-kafka", f"{_fmt(r.raw_eps)} events/s"),
        ("(b) hub processor", f"{_fmt(r.hub_eps)} events/s"),
        ("(c) per-event faust agent", _fmt(r.faust_eps) + (" events/s" if r.faust_eps else "")),
        ("hub / raw", _fmt(r.hub_vs_raw, ".3f")),
        ("hub / faust", _fmt(r.hub_vs_faust, ".1f") + ("x" if r.hub_vs_faust else "")),
        (
            f"latency p50 / p99 at {lat.rate:,}/s",
            f"{_fmt(r.p50_ms, '.0f')} ms / {_fmt(r.p99_ms, '.0f')} ms "
            f"({lat.samples:,} disclosures of {lat.sent:,} events sent, "
            f"max {_fmt(lat.max_ms, '.0f')} ms)",
        ),
        *(
            [
                (
                    f"latency p50 / p99 at {r.steady_rate:,}/s",
                    f"{_fmt(r.steady_p50_ms, '.0f')} ms / {_fmt(r.steady_p99_ms, '.0f')} ms "
                    "(half the measured throughput)",
                )
            ]
            if r.steady_rate
            else []
        ),
        (
            "peak RSS, hub run",
            f"{r.peak_rss_mb:,.0f} MB (process RSS before it: {rss_before_mb:,.0f} MB)",
        ),
        (
            "hub process x1 / x2 / x3",
            f"{_fmt(r.one_instance_eps)} / {_fmt(r.two_instances_eps)} / "
            f"{_fmt(r.three_instances_eps)} events/s (x2 / x1 {_fmt(r.scaling, '.2f')})",
        ),
        (
            "CPU per event, hub process + helper",
            f"{_fmt(r.cpu_us_per_event, ',.1f')} µs (codec floor "
            f"{_fmt(r.floor_us_per_event, ',.1f')} µs: {_fmt(r.cpu_vs_floor, '.1f')}x; by "
            f"processes in the group {r.cpu_us_per_event_by_processes}, spread "
            f"{_fmt(r.cpu_spread_pct, '.1f')}%)",
        ),
        (
            "peak RSS of hub process, 10% / 100%",
            f"{_fmt(more.get('rss_mb_10pct'), '.1f')} / {_fmt(more.get('rss_mb_100pct'), '.1f')}"
            f" MB of {_fmt(more.get('rss_events'), ',')} events "
            f"(growth {_fmt(more.get('rss_growth_pct'), '.1f')}%)",
        ),
        (
            "stages, µs per event",
            ", ".join(f"{k} {v:,.1f}" for k, v in (r.stage_us or {}).items())
            + f" (pass CPU {_fmt(r.profile_cpu_us_per_event, ',.1f')} µs)",
        ),
        (
            "what-if, recorded topic bytes",
            f"{_fmt(r.whatif_eps)} events/s over {_fmt(r.whatif_events, ',')} "
            f"(1,000,000 in {_fmt(r.whatif_1m_seconds, '.0f')} s)",
        ),
        (
            "latency p50 / p99 at 200/s",
            f"{_fmt(r.p50_ms_200, '.0f')} ms / {_fmt(r.p99_ms_200, '.0f')} ms",
        ),
        (
            "Quix Streams application",
            f"{_fmt(r.quix_eps)} events/s (hub / quix {_fmt(r.hub_vs_quix, '.2f')}x; CPU "
            f"{_fmt(r.quix_cpu_us_per_event, ',.1f')} µs per event: {r.quix_stage_us})"
            if r.quix_eps
            else (r.quix_note or "not measured"),
        ),
        *(
            (k, str(v))
            for k, v in more.items()
            if k.startswith(("demo_", "backfill_", "io_", "floor_with_io", "cpu_vs_floor_with"))
            and not k.endswith("load_average")
        ),
        ("load average 1/5/15 min", f"{r.load_average}"),
        (
            "disclosures hub / faust / quix",
            f"{r.hub_shared:,} / {_fmt(r.faust_shared, ',')} / {_fmt(r.quix_shared, ',')}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    head = f"Processor benchmark: {r.events:,} signed safeguarding concerns, one embedded broker"
    lines = [head, "-" * len(head)]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    if r.latency_saturated:
        lines.append(
            f"latency: the hub ran below the offered {lat.rate:,}/s here ({lat.backlog:,} events "
            "behind when the last was sent), so the percentiles measure queueing, not a steady "
            "state"
            + ("" if lat.drained else "; it was not drained in time (slowest records missing)")
        )
    if r.faust_note:
        lines.append(f"faust: {r.faust_note}")
    if r.quix_note:
        lines.append(f"quix: {r.quix_note}")
    lines.append(f"note: {NOTE}")
    return "\n".join(lines)


def emit(result: dict[str, Any], as_json: bool, width: int = 26) -> None:
    """A side benchmark's figures: one JSON line (``--json``, what bench/processor.py and
    scripts read), else one ``key value`` line each."""
    if as_json:
        print(json.dumps(result), flush=True)
        return
    for key, value in result.items():
        print(f"{key:{width}} {value}")
