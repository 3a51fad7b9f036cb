"""Restart to first progress: how long the processor, a sink and the audit ingester take,
once restarted, to commit records that arrived while they were down.

    python -m bench.restart [--rounds 2] [--static]

Each service runs as its own process (``python -m hub.cli.main ...``) against an embedded
broker. Per round: start it and let it commit a first batch; stop it (SIGTERM: it leaves
its consumer group; or SIGKILL: a crash, its member is left behind); produce 20 records;
start it again and time from the start of the new process until its group has committed
them. The figure includes the interpreter's start and the service's set-up, i.e. what an
operator waits for. ``--static`` sets ``HUB_GROUP_INSTANCE_ID`` (static membership,
KIP-345) for the same measurement. Prints one line per (service, stop) with every round.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.scaling import end_offsets
from hub.broker import EmbeddedBroker
from hub.registry import RegistryServer, SchemaStore
from tests.integration.services import (
    Service,
    committed,
    kinds,
    prepare_topics,
    produce_junk,
    service_env,
    wait_committed,
)

BATCH = 20


def one_round(service: Service, bootstrap: str, how: signal.Signals) -> tuple[float, float]:
    """Seconds from the restart until the records produced while it was down are committed,
    and until the service said it was up (its first line on stdout; the sink prints none)."""
    kind = service.kind
    service.start()
    produce_junk(bootstrap, kind, BATCH)
    wait_committed(bootstrap, kind, end_offsets(bootstrap, kind.topic, 1), 120, service)
    service.stop(how, timeout=30)
    service.close()
    produce_junk(bootstrap, kind, BATCH)
    target = end_offsets(bootstrap, kind.topic, 1)
    service.start()
    started = service.started_at
    out = service.logs / f"{kind.name}-{service.lives}.out"
    up = float("nan")
    while committed(bootstrap, kind.group, kind.topic) < target:
        if up != up and out.stat().st_size > 0:  # nan until the first line
            up = time.monotonic() - started
        assert service.alive(), service.stderr()[-2000:]
        assert time.monotonic() - started < 180, f"{kind.name} made no progress"
        time.sleep(0.05)
    took = time.monotonic() - started
    service.stop(signal.SIGTERM, timeout=30)
    service.close()
    return took, up


def measure(rounds: int, static: bool, only: list[str]) -> list[tuple[str, str, list[float]]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="hub-restart-") as tmp_name:
        tmp = Path(tmp_name)
        with (
            EmbeddedBroker() as broker,
            RegistryServer(SchemaStore("sqlite://")) as registry,
        ):
            prepare_topics(broker.bootstrap)
            for name, kind in kinds(tmp).items():
                if only and name not in only:
                    continue
                extra = {"HUB_GROUP_INSTANCE_ID": f"bench-{name}-0"} if static else {}
                env = service_env(tmp, broker.bootstrap, registry.url, **extra)
                for how in (signal.SIGTERM, signal.SIGKILL):
                    service = Service(kind, env, tmp)
                    rounds_ = [one_round(service, broker.bootstrap, how) for _ in range(rounds)]
                    figures = [r[0] for r in rounds_]
                    results.append((name, how.name, figures))
                    print(
                        _line(name, how.name, static, figures, [r[1] for r in rounds_]), flush=True
                    )
    return results


def _line(name: str, how: str, static: bool, figures: list[float], up: list[float]) -> str:
    membership = "static " if static else "dynamic"
    shown = ", ".join(f"{f:.1f}" for f in figures)
    ups = ", ".join("-" if u != u else f"{u:.1f}" for u in up)
    return (
        f"{name:9s} after {how:7s} ({membership}): first progress "
        f"median {statistics.median(figures):.1f} s  [{shown}]; process up after [{ups}] s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--static", action="store_true", help="static group membership")
    parser.add_argument("--only", nargs="*", default=[], help="processor, sink, ingester")
    args = parser.parse_args(argv)
    print(
        "restart to first progress (process start to the group's commit of the records "
        "that arrived while it was down); goal 3 s",
        flush=True,
    )
    measure(args.rounds, args.static, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
