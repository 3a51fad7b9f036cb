"""Issue 17's Quix row: the environment the Quix Streams application needs, and its run.

quixstreams 3.28.1 (the newest on PyPI, 2026-10) requires confluent-kafka < 2.13; the hub
requires >= 2.16. So the application (``bench/quix_app.py``) runs as a child process in an
environment of its own, ``.venv-quix`` (gitignored), made here on first use: quixstreams
(which brings confluent-kafka 2.12.x), the hub with ``--no-deps`` (editable: today's code),
and the hub's runtime dependencies that the application's hub pieces import, pinned to the
versions in the hub's own environment, so both run the same codec, crypto and CEL. The
hub's environment is not touched.

``python -m bench.quix --setup`` makes (or checks) the environment alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from bench.agents import run_agent

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-quix"
QUIXSTREAMS = "quixstreams==3.28.1"
# What the application's hub modules import beyond quixstreams' own dependencies (found by
# importing them in a bare environment): Ed25519 (pynacl, cryptography), the codec
# (fastavro), agreements and settings (pyyaml, pydantic, pydantic-settings), conditions
# (CEL), audit records (orjson; hub.audit's package imports sqlalchemy and alembic).
HUB_PIECES = (
    "fastavro",
    "orjson",
    "pydantic",
    "pydantic-settings",
    "pyyaml",
    "pynacl",
    "cryptography",
    "common-expression-language",
    "sqlalchemy",
    "alembic",
)
SETUP_TIMEOUT = 600  # pip downloads on a shared machine


class QuixRun(NamedTuple):
    """The application's figures, or (all None) the note saying why there are none."""

    eps: float | None = None
    shared: int | None = None  # disclosures produced
    cpu_us_per_event: float | None = None  # the child's CPU, every thread, per event
    # Of that: the work's steps (its processing thread) and the rest, Quix's and librdkafka's.
    stage_us: dict[str, float] | None = None
    note: str | None = None

    @classmethod
    def failed(cls, note: str) -> QuixRun:
        return cls(note=note)


class QuixUnavailable(Exception):
    """The Quix environment cannot be made here; the message says why (for not_measured)."""


def requirements() -> list[str]:
    """quixstreams, and the hub's pieces at the versions the hub's environment has."""
    pins = []
    for name in HUB_PIECES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)  # not in the hub's environment either: whatever pip picks
    return [QUIXSTREAMS, *pins]


def _pip_failure(step: str, proc: subprocess.CompletedProcess[str]) -> QuixUnavailable:
    lines = [
        line.strip()
        for line in (proc.stderr or proc.stdout or "").splitlines()
        if line.strip() and not line.lstrip().startswith("WARNING")
    ]
    said = " | ".join(lines[-3:]) or f"exit {proc.returncode}"
    return QuixUnavailable(f"{step} failed: {said}")


def _run(step: str, cmd: list[str]) -> None:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=SETUP_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QuixUnavailable(f"{step} failed: {type(exc).__name__}: {exc}") from exc
    if proc.returncode != 0:
        raise _pip_failure(step, proc)


def ensure_venv(venv: Path = VENV) -> Path:
    """The Quix environment's python, made or brought up to date first; raises
    QuixUnavailable with the reason (no network, a pin pip cannot meet, ...)."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = "\n".join(requirements())
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        _run(f"python -m venv {venv.name}", [sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(f"pip install {QUIXSTREAMS} and the hub's pieces", [*pip, *wanted.split("\n")])
    # The hub itself without its dependencies: those would pull confluent-kafka >= 2.16.
    _run("pip install --no-deps -e . (the hub)", [*pip, "--no-deps", "-e", str(ROOT)])
    stamp.write_text(wanted)
    return python


def parse_result(text: str, n: int) -> QuixRun:
    """The figures in the application's result file; a run that did not do the same work
    as the others is a note, not a figure."""
    try:
        out = json.loads(text)
        consumed, eps, shared = int(out["consumed"]), float(out["eps"]), int(out["shared"])
        cpu = float(out["cpu_us_per_event"])
        stages = {str(k): float(v) for k, v in dict(out["stage_us"]).items()}
        rejected = int(out.get("rejected", 0))
    except (ValueError, KeyError, TypeError) as exc:
        return QuixRun.failed(f"Quix application's result unreadable: {type(exc).__name__}: {exc}")
    if consumed != n:
        return QuixRun.failed(f"Quix application consumed {consumed} records, not the {n} input")
    if rejected:
        return QuixRun.failed(f"Quix application rejected {rejected} of {n} records (its log)")
    stages["quix_and_kafka"] = cpu - sum(stages.values())
    return QuixRun(eps, shared, cpu, {k: round(v, 1) for k, v in stages.items()})


def quix_run(data_dir: Path, bootstrap: str, registry_url: str, topic: str, n: int) -> QuixRun:
    """The Quix application's figures over the N records on ``topic``, in a child process
    under the Quix environment; or the note saying why there are none."""
    try:
        python = ensure_venv()
    except QuixUnavailable as exc:
        return QuixRun.failed(f"Quix environment (.venv-quix) could not be made: {exc}")
    run = run_agent(
        "quix",
        str(python),
        Path(__file__).resolve().parent / "quix_app.py",
        bootstrap=bootstrap,
        registry_url=registry_url,
        data_dir=data_dir,
        topic=topic,
        n=n,
    )
    if run.result is None:
        return QuixRun.failed(f"Quix application: {run.failure}")
    return parse_result(run.result, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setup", action="store_true", help="make the environment and stop")
    args = parser.parse_args()
    if not args.setup:
        parser.error("bench/processor.py runs the Quix row; this command only has --setup")
    try:
        python = ensure_venv()
    except QuixUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
