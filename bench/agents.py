"""The per-event comparison agents (faust, Quix) as child processes: one command line, one
run with its timeout, one way of reporting a failure, so the two rows are measured alike."""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def add_agent_args(parser: argparse.ArgumentParser) -> None:
    """What an agent is told: where the broker, registry and keys are, what to read, and
    where to write its JSON result."""
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--result", required=True, help="file to write the JSON result to")


@dataclass(frozen=True)
class AgentRun:
    result: str | None  # the agent's JSON result, or None with ``failure`` saying why
    failure: str | None = None


def run_agent(
    name: str,
    python: str,
    script: Path,
    *,
    bootstrap: str,
    registry_url: str,
    data_dir: Path,
    topic: str,
    n: int,
) -> AgentRun:
    """``script`` under ``python`` over the N records on ``topic``, in a consumer group of
    its own; its result file's text, or why there is none (timeout, exit code and the last
    lines it printed)."""
    result_file = data_dir / f"{name}-result.json"
    result_file.unlink(missing_ok=True)
    # fmt: off
    cmd = [
        python, str(script), "--bootstrap", bootstrap, "--registry", registry_url,
        "--data-dir", str(data_dir), "--topic", topic,
        "--group", f"bench-{name}-{time.time_ns()}", "--events", str(n),
        "--result", str(result_file),
    ]
    # fmt: on
    timeout = 90 + n / 200
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return AgentRun(None, f"{name} agent did not consume {n} events in {timeout:.0f}s")
    if proc.returncode == 0 and result_file.exists():
        return AgentRun(result_file.read_text())
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return AgentRun(None, f"{name} agent failed (exit {proc.returncode}): {' | '.join(tail)}")
