"""What-if runs in the background, so a long history shows progress instead of a page that
hangs until the proxy times out.

The page starts a run (or finds the one already running for the same officer, draft and
period), waits briefly for it, and if it has not finished shows how many events have been
read so far (and what share of the recorded events, when the broker says how
many) and refreshes itself. A finished run is handed out once and forgotten: asking
again replays again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.console.whatif import Progress, WhatIfResult

Key = tuple[str, str, str, str]  # officer, draft, from, to
Work = Callable[[Callable[[Progress], None]], WhatIfResult]


@dataclass
class Job:
    key: Key
    started: float = field(default_factory=time.monotonic)
    read: int = 0  # events read so far
    percent: float | None = None  # of the input passed, when the source knows its size
    result: WhatIfResult | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def seconds(self) -> int:
        return int(time.monotonic() - self.started)


class WhatIfJobs:
    MAX_RUNNING = 4  # per console: each holds a broker consumer and a CPU

    def __init__(self) -> None:
        self._jobs: dict[Key, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: Key, work: Work, on_error: Callable[[Exception], str]) -> Job | None:
        """The run for ``key``, started if none is; None when too many are running."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                return job
            if sum(not j.done.is_set() for j in self._jobs.values()) >= self.MAX_RUNNING:
                return None
            job = self._jobs[key] = Job(key)

        def progress(p: Progress) -> None:
            job.read, job.percent = p.read, p.percent

        def run() -> None:
            try:
                job.result = work(progress)
            except Exception as exc:  # shown on the page, never lost in a thread
                job.error = on_error(exc)
            finally:
                job.done.set()

        threading.Thread(target=run, name=f"what-if {key[1]}", daemon=True).start()
        return job

    def collect(self, job: Job) -> None:
        """Forget a finished run once its result has been shown."""
        with self._lock:
            if self._jobs.get(job.key) is job and job.done.is_set():
                del self._jobs[job.key]
