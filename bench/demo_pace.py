"""The demo's own pace: wall-clock against the CPU its processes use (issue 17).

Runs ``hub demo --json --no-console`` as a child process in a fresh data folder and
measures, for the whole command (start-up, the run, the audit check):

- ``demo_wall_s``: wall-clock seconds from start to exit;
- ``demo_cpu_s``: CPU seconds (user + system) of the command and every process under it
  (the embedded broker, the signature helper), from ``getrusage(RUSAGE_CHILDREN)`` after it
  exits, which counts each descendant reaped, so none that exited early is missed;
- ``demo_wall_over_cpu``: the ratio. 1.0 is CPU-bound; 2.0 means half the time nothing ran.
  On 2 cores the demo can use more than one at once, so the ratio can fall below 1.
- ``demo_cpu_by_process``: the same CPU split by command, from /proc sampled every 0.2 s
  (last reading per process), to see whether the hub or the broker uses it.

``demo_events`` is what the partners' connectors published (the demo's ``valid_events``).
The load average is recorded beside the figures: on a shared machine the ratio grows with
other work (waiting for a core counts as wall-clock, not CPU).

Usage: ``.venv/bin/python -m bench.demo_pace [--events 3000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu

ROOT = Path(__file__).resolve().parent.parent


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += cpu.children(p)
    return out


def _label(pid: int) -> str:
    line = cpu.command_line(pid)
    if "tansu" in line or "broker" in line.split(" ")[0]:
        return "broker"
    if "verify_worker" in line:
        return "verify-helper"
    return "hub" if "hub" in line or "python" in line else (line.split(" ")[0] or "other")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(
    events: int = 3000, seed: int = 7, timeout: float = 900.0, root: Path = ROOT
) -> dict[str, Any]:
    """One ``hub demo`` run of ``events`` synthetic events; the figures as a dict. ``root``
    is the checkout to run (another one compares before and after a change)."""
    # ``-m`` from the checkout's folder: its ``hub`` package is the one imported.
    command = [sys.executable, "-m", "hub.cli.main"]
    with tempfile.TemporaryDirectory(prefix="demo-pace-") as tmp:
        argv = [
            *command,
            "demo",
            "--json",
            "--no-console",
            "--events",
            str(events),
            "--seed",
            str(seed),
            "--data-dir",
            tmp,
            "--timeout",
            str(timeout),
        ]
        load0 = os.getloadavg()[0]
        cpu0 = _children_cpu()
        started = time.monotonic()
        child = subprocess.Popen(
            argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        seen: dict[int, tuple[str, float]] = {}
        while child.poll() is None:
            for pid in _tree(child.pid):
                used = cpu.process_cpu(pid)
                if used > seen.get(pid, ("", 0.0))[1]:
                    seen[pid] = (seen[pid][0] if pid in seen else _label(pid), used)
            if time.monotonic() - started > timeout + 60:
                child.kill()
            time.sleep(0.2)
        out, err = child.communicate()
        wall = time.monotonic() - started
        used_cpu = _children_cpu() - cpu0
        load1 = os.getloadavg()[0]
    if child.returncode != 0:
        raise RuntimeError(f"hub demo exited {child.returncode}: {err.strip()[-2000:]}")
    summary = json.loads(out.strip().splitlines()[-1])
    by_process: dict[str, float] = {}
    for label, used in seen.values():
        by_process[label] = round(by_process.get(label, 0.0) + used, 2)
    return {
        "demo_events": summary["valid_events"],
        "demo_wall_s": round(wall, 2),
        "demo_run_s": summary["seconds"],  # the demo's own clock: without start-up
        "demo_cpu_s": round(used_cpu, 2),
        "demo_wall_over_cpu": round(wall / used_cpu, 2) if used_cpu else None,
        "demo_cpu_by_process": by_process,
        "demo_audit_intact": summary["audit_intact"],
        "load_average": [round(load0, 2), round(load1, 2)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="synthetic events (3000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="one JSON line (the default)")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to run (this one)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.events, args.seed, root=args.root), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
