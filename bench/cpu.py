"""CPU seconds of a process and its children, from /proc (Linux).

The processor's cost is what its process and its signature helper (a child process, see
hub/processor/verify.py) use together: /proc/<pid>/stat utime + stime of each, in clock
ticks (usually 100 a second, so runs of several seconds are needed for a figure).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """utime + stime of ``pid`` in seconds, 0.0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the command name, which may hold spaces: utime and stime are 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children, /proc/<pid>/task/*/children)."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def helpers(pid: int) -> list[int]:
    """The processor's helper processes among ``pid``'s children (the signature checker);
    the embedded broker, when it is a child too, is not one."""
    return [c for c in children(pid) if "verify_worker" in command_line(c)]


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its helper processes."""
    return process_cpu(pid) + sum(process_cpu(c) for c in helpers(pid))


def threads_cpu(prefix: str, pid: int | None = None) -> float:
    """CPU seconds of the threads of ``pid`` (default this process) whose name starts with
    ``prefix``: librdkafka names its threads ``rdk:...``."""
    total = 0.0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid or os.getpid()}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                stat = (task / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                if name.startswith(prefix):
                    fields = stat[stat.rindex(")") + 2 :].split()
                    total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def status_mb(pid: int, field: str) -> float:
    """``field`` of /proc/<pid>/status (``VmRSS``, ``VmHWM``: kB) in MB; 0.0 when gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def tree_mb(pid: int, field: str) -> float:
    """``field`` (``VmRSS`` now, ``VmHWM`` the peak so far) of ``pid`` plus its helper
    processes, in MB: the processor's memory is both processes'."""
    return status_mb(pid, field) + sum(status_mb(c, field) for c in helpers(pid))
