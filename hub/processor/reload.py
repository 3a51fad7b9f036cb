"""Reload agreements and partner keys when their files change, without a restart.

Checked between batches (never inside one, so a batch is decided under one set of rules).
A change that does not load (a broken YAML, an invalid agreement) keeps the rules in force
and is logged: a typo must not stop the processor, nor silently widen sharing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.agreements import lifecycle
from hub.agreements.loader import load_agreements
from hub.agreements.models import Agreement
from hub.errors import HubError
from hub.identity.keys import PartnerKeyStore
from hub.policy.engine import PolicyEngine

log = logging.getLogger("hub.processor.reload")


def fingerprint(folders: Iterable[Path]) -> str:
    """Names, sizes and modification times of every file under ``folders``."""
    h = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Rules:
    engine: PolicyEngine
    public_keys: Mapping[str, Ed25519PublicKey]


class RuleSource:
    """Loads the rules from disk and tells when they changed."""

    def __init__(
        self,
        agreements_dir: Path,
        keys: PartnerKeyStore,
        key_dirs: Iterable[Path],
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._agreements_dir = agreements_dir
        self._keys = keys
        self._folders = [agreements_dir, *key_dirs]
        self._interval = interval
        self._clock = clock
        self._seen = fingerprint(self._folders)
        self._checked = clock()
        self._loaded: list[Agreement] = []

    def load(self) -> Rules:
        rules = Rules(PolicyEngine(load_agreements(self._agreements_dir)), self._keys.public_keys())
        # Say what a reload changes in what governs, whoever edited the files (issue 15.5).
        if self._loaded:
            now = datetime.now(UTC)
            for change in lifecycle.changes(self._loaded, rules.engine.agreements, now):
                log.warning("agreements reloaded: %s", change.summary())
        self._loaded = rules.engine.agreements
        return rules

    def public_keys_now(self) -> Mapping[str, Ed25519PublicKey]:
        """The partner keys on disk at this moment (a partner's first records can arrive
        before the next scheduled check has seen its newly registered key)."""
        return self._keys.public_keys()

    def changed(self) -> Rules | None:
        """New rules when the files changed since the last load and they load; else None."""
        now = self._clock()
        if now - self._checked < self._interval:
            return None
        self._checked = now
        current = fingerprint(self._folders)
        if current == self._seen:
            return None
        self._seen = current
        try:
            rules = self.load()
        except HubError as exc:
            log.error(
                "agreements or keys changed but do not load; keeping the rules in force: %s", exc
            )
            return None
        log.info(
            "reloaded %d agreement versions and %d partner keys",
            len(rules.engine.agreements),
            len(rules.public_keys),
        )
        return rules
