"""Watch the key folders and the agreements, and say what a change means.

The processor reloads keys and agreements by itself between batches
(hub/processor/reload.py); the sandbox tells the person at the terminal what it saw (a key
registered, a key file that does not load, agreements that do not load) and, when the
agreements change, applies their new topics and starts sinks for new recipients.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hub.agreements.loader import load_agreements
from hub.errors import HubError
from hub.identity.keys import PartnerKeyStore
from hub.processor.reload import fingerprint


class Watcher:
    def __init__(
        self,
        registered_keys: Path,
        dev_keys: Path,
        agreements_dir: Path,
        say: Callable[[str], None],
        on_agreements: Callable[[], None],
    ) -> None:
        self._store = PartnerKeyStore(registered_keys, dev_keys)
        self._key_dirs = [registered_keys, dev_keys]
        self._agreements_dir = agreements_dir
        self._say = say
        self._on_agreements = on_agreements
        self._keys_seen = fingerprint(self._key_dirs)
        self._agreements_seen = fingerprint([agreements_dir])
        self._key_ids = self._load_key_ids() or set()

    def _load_key_ids(self) -> set[str] | None:
        try:
            return set(self._store.public_keys())
        except HubError as exc:
            self._say(f"partner keys: {exc} (the processor keeps the keys it had)")
            return None

    def poll(self) -> None:
        keys = fingerprint(self._key_dirs)
        if keys != self._keys_seen:
            self._keys_seen = keys
            now = self._load_key_ids()
            if now is not None:
                for key_id in sorted(now - self._key_ids):
                    self._say(f"partner key registered: {key_id} (in use from the next batch)")
                for key_id in sorted(self._key_ids - now):
                    self._say(f"partner key removed: {key_id} (its records are dead-lettered)")
                self._key_ids = now
        agreements = fingerprint([self._agreements_dir])
        if agreements != self._agreements_seen:
            self._agreements_seen = agreements
            try:
                loaded = load_agreements(self._agreements_dir)
            except HubError as exc:
                self._say(f"agreements do not load; the processor keeps the rules in force: {exc}")
                return
            self._say(f"agreements changed: {len(loaded)} versions; applying their topics")
            self._on_agreements()
