"""The benchmark's rows that run apart from the processor comparison, and the reasons for
every figure left out of a run.

Each optional phase returns its JSON keys; a phase that cannot run (its module absent, a
flag that skips it, a failure) gives reasons instead, so ``make bench ARGS="--json"``
always carries every key the issue names: ``null`` with its reason in ``not_measured``,
never missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from bench import memory

QUIX_SKIPPED = "skipped (--skip-quix)"

# Keys that stand for a phase: when it is left out, every one of them is null.
DEMO_KEYS = ("demo_events", "demo_wall_s", "demo_cpu_s", "demo_wall_over_cpu")
BACKFILL_KEYS = (
    "backfill_rows",
    "backfill_rows_per_s",
    "backfill_cpu_us_per_row",
    "backfill_cpu_rows_per_s",
    "backfill_rss_mb_10pct",
    "backfill_rss_mb_100pct",
    "backfill_rss_growth_pct",
)
IO_KEYS = ("io_copy_us", "io_fanout_us", "io_verify_us", "floor_with_io_us")
RSS_KEYS = ("rss_events", "rss_mb_10pct", "rss_mb_100pct", "rss_growth_pct")
# `hub agreements whatif` over N recorded events as a user runs it (bench/whatif.py).
WHATIF_KEYS = (
    "whatif_cli_events",
    "whatif_cli_1m_seconds",
    "whatif_cli_audit_1m_seconds",
    "whatif_cli_eps",
    "whatif_cli_audit_eps",
    "whatif_cli_cpu_s",
    "whatif_cli_audit_cpu_s",
    "whatif_cli_rss_mb",
    "whatif_cli_audit_rss_mb",
)


class Phases:
    """Figures and reasons gathered from the optional phases of one run."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.reasons: dict[str, str] = {}

    def skip(self, keys: tuple[str, ...], reason: str) -> None:
        for k in keys:
            self.figures.setdefault(k, None)
            self.reasons[k] = reason

    def run(self, keys: tuple[str, ...], phase: Callable[[], dict[str, Any]]) -> None:
        """Run ``phase``; on failure its keys are null with the error as the reason (one
        optional row failing must not lose the rest of a long run)."""
        try:
            got = phase()
        except Exception as exc:  # reported, not raised: see the docstring
            self.skip(keys, f"failed: {type(exc).__name__}: {str(exc)[:300]}")
            return
        self.figures.update(got)
        for k in keys:
            self.figures.setdefault(k, None)

    def memory(self, events: int, say: Callable[[str], None]) -> None:
        if events <= 0:
            self.skip(RSS_KEYS, "skipped (--rss-events 0)")
            return
        self.run(RSS_KEYS, lambda: memory.figures(memory.measure(events, say)))

    def demo(self, events: int) -> None:
        if events <= 0:
            self.skip(DEMO_KEYS, "skipped (--demo-events 0)")
            return
        self.optional_module("bench.demo_pace", DEMO_KEYS, lambda run: run(events))

    def backfill(self, rows: int | None) -> None:
        """``rows`` None: bench/backfill.py's own default."""
        if rows is not None and rows <= 0:
            self.skip(BACKFILL_KEYS, "skipped (--backfill-rows 0)")
            return
        self.optional_module(
            "bench.backfill", BACKFILL_KEYS, lambda run: run() if rows is None else run(rows)
        )

    def io_floor(self, events: int) -> None:
        if events <= 0:
            self.skip(IO_KEYS, "skipped (--io-events 0)")
            return
        self.optional_module("bench.io_floor", IO_KEYS, lambda run: run(events))

    def whatif(self, events: int) -> None:
        if events <= 0:
            self.skip(WHATIF_KEYS, "skipped (--whatif-cli-events 0)")
            return
        self.optional_module("bench.whatif", WHATIF_KEYS, lambda run: run(events))

    def optional_module(
        self, name: str, keys: tuple[str, ...], call: Callable[[Any], dict[str, Any]]
    ) -> None:
        """A phase in a module of its own, imported only when it runs."""
        try:
            run = importlib.import_module(name).run
        except (ImportError, AttributeError) as exc:
            self.skip(keys, f"{name} not available here: {exc}")
            return

        def phase() -> dict[str, Any]:
            got = dict(call(run))
            # Its own load average (before, after) beside the run's (at the end).
            if "load_average" in got:
                got[f"{name.rsplit('.', 1)[-1]}_load_average"] = got.pop("load_average")
            return got

        self.run(keys, phase)


def same_work_ratio(
    hub_eps: float, hub_shared: int, eps: float | None, shared: int | None, name: str
) -> tuple[float | None, str | None]:
    """(hub_eps / eps, None), or (None, why not): a contender that produced other
    disclosures than the hub from the same input did other work, and its ratio means
    nothing. (None, None) when the contender has no figure (its own note says why)."""
    if eps is None:
        return None, None
    if shared != hub_shared:
        return None, (
            f"{name} produced {shared} disclosures from the same input, the hub {hub_shared}: "
            "not the same work, so no ratio"
        )
    return hub_eps / eps, None


def not_measured(record: dict[str, Any], reasons: dict[str, str]) -> dict[str, str]:
    """Every null figure in ``record`` with why it is null."""
    return {
        k: reasons.get(k, "not measured in this run")
        for k, v in record.items()
        if v is None and not k.endswith(("_note", "_stalled_at_row"))  # null: said, or no stall
    }
