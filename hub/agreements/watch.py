"""Agreement files on disk, reloaded when they change: for long-running deciders other than the
processor (the analytics' alert governor), so a console approval or suspension reaches them
within seconds, as it reaches the processor, instead of at their next restart.

A change that does not load keeps the versions in force and is logged (a typo must not stop
the decider, nor silently widen sharing); a change of what governs is logged with the flows
it stops or starts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hub.agreements import lifecycle
from hub.agreements.loader import load_agreements
from hub.agreements.models import Agreement
from hub.errors import HubError

log = logging.getLogger("hub.agreements.watch")


def _fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.y*ml")):
        st = path.stat()
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class AgreementFiles:
    """The versions under ``folder``; ``current()`` reloads them when the files changed
    (looked at no more than every ``interval`` seconds)."""

    def __init__(
        self,
        folder: Path,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._folder = folder
        self._interval = interval
        self._clock = clock
        self._seen = _fingerprint(folder)
        self._agreements = load_agreements(folder)  # a start with broken files fails loudly
        self._checked = clock()
        self.generation = 0  # bumped on every successful reload

    def current(self) -> list[Agreement]:
        now = self._clock()
        if now - self._checked >= self._interval:
            self._checked = now
            self._reload()
        return self._agreements

    def _reload(self) -> None:
        seen = _fingerprint(self._folder)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            fresh = load_agreements(self._folder)
        except HubError as exc:
            log.error("agreements changed but do not load; keeping those in force: %s", exc)
            return
        for change in lifecycle.changes(self._agreements, fresh, datetime.now(UTC)):
            log.warning("agreements reloaded: %s", change.summary())
        self._agreements = fresh
        self.generation += 1
