"""What the console's pages share: configuration, the audit store, the catalogue and the
partnership, the agreements on disk, and the s62 consultation log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.agreements.lint import Finding, Linter
from hub.agreements.loader import load_agreements
from hub.agreements.models import Agreement
from hub.agreements.partnership import Partnership, load_partnership
from hub.audit.store import AuditStore
from hub.catalogue.schemas import Catalogue, load_catalogue
from hub.config import Settings
from hub.console.auth import LocalAuthenticator, Principal, SessionStore
from hub.console.lockout import LockoutPolicy
from hub.console.whatif import EventSource, KafkaEventSource
from hub.console.whatif_jobs import WhatIfJobs
from hub.identity.keys import SigningKey
from hub.privacy.keys import LocalKeyProvider


@dataclass
class ConsoleConfig:
    settings: Settings
    store_url: str
    bootstrap: str | None = None  # the broker the what-if reads recorded events from
    registry_url: str | None = None
    signer: SigningKey | None = None  # signs checkpoints after consultation/action records
    secure_cookies: bool | None = None  # None: Secure whenever the request came over https
    event_source: EventSource | None = None  # replaces the broker reader (tests)
    lockout: LockoutPolicy | None = None  # None: LockoutPolicy's defaults
    # A retraction notice with no delivered receipt after this long is listed to chase.
    notice_receipt_hours: float = 24.0


def _agreement_files(folder: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.yaml"))
    )


@dataclass
class ConsoleState:
    config: ConsoleConfig
    store: AuditStore
    catalogue: Catalogue
    partnership: Partnership
    auth: LocalAuthenticator
    sessions: SessionStore
    keys: LocalKeyProvider
    _lint_cache: tuple[Any, list[Finding]] | None = field(default=None, repr=False)
    # Result messages of agreement actions by action id, shown once after the redirect.
    messages: dict[str, str] = field(default_factory=dict, repr=False)
    whatif_jobs: WhatIfJobs = field(default_factory=WhatIfJobs, repr=False)

    @classmethod
    def open(cls, config: ConsoleConfig) -> ConsoleState:
        settings = config.settings
        store = AuditStore(config.store_url, signer=config.signer)
        partnership = load_partnership(settings.partnership_dir)
        operated: dict[str, frozenset[str]] = {}
        for r in partnership.recipients:
            operated[r.operated_by] = operated.get(r.operated_by, frozenset()) | {r.id}
        return cls(
            config=config,
            store=store,
            catalogue=load_catalogue(settings.schemas_dir),
            partnership=partnership,
            auth=LocalAuthenticator(store.engine, operated, config.lockout),
            sessions=SessionStore(store.engine),
            keys=LocalKeyProvider(settings.data_dir / "keys", settings.pseudonym_keys),
        )

    @property
    def agreements_dir(self) -> Path:
        return self.config.settings.partnership_dir / "agreements"

    def agreements(self) -> list[Agreement]:
        """Read from disk on every call: approvals and suspensions change the files."""
        return load_agreements(self.agreements_dir)

    def lint(self, agreements: list[Agreement]) -> list[Finding]:
        """Lint findings, recomputed only when an agreement file changed (it is slow: every
        condition runs over a few hundred sample events)."""
        stamp = _agreement_files(self.agreements_dir)
        if self._lint_cache is None or self._lint_cache[0] != stamp:
            from hub.demo.samples import sample_events

            linter = Linter(self.catalogue, self.partnership, sample_events, datetime.now(UTC))
            self._lint_cache = (stamp, linter.lint(agreements))
        return self._lint_cache[1]

    def event_source(self) -> EventSource | None:
        if self.config.event_source is not None:
            return self.config.event_source
        if self.config.bootstrap and self.config.registry_url:
            return KafkaEventSource(self.config.bootstrap, self.config.registry_url, self.catalogue)
        return None

    def is_party(self, principal: Principal, agreement: Agreement) -> bool:
        """Whether a partner admin's organisation is a party to the agreement."""
        if principal.partner is None:
            return False
        org = principal.partner
        return (
            org in agreement.providers
            or org in agreement.controllers
            or org in agreement.recipients
            or bool(principal.operated & set(agreement.recipients))
        )

    def visible_agreements(self, principal: Principal) -> list[Agreement]:
        everything = self.agreements()
        if principal.scope.unrestricted:
            return everything
        return [a for a in everything if self.is_party(principal, a)]

    def consult(
        self, principal: Principal, action: str, target: Mapping[str, Any], results: int
    ) -> str:
        """Log one consultation (DPA 2018 s62): who looked at what, in the hash chain.
        ``target`` holds ids, filters and subject tokens, never identifiers as typed."""
        row = {
            "consultation_id": str(uuid.uuid4()),
            "at": datetime.now(UTC).isoformat(),
            **principal.actor(),
            "action": action,
            "target": json.dumps(dict(target), sort_keys=True, default=str),
            "results": results,
        }
        # The store's chained append (the same path as disclosures), so a deleted or edited
        # consultation shows in `hub audit verify` like any other record.
        self.store.append("consultation", [row])
        return str(row["consultation_id"])

    def record_action(self, row: dict[str, Any]) -> None:
        self.store.append("agreement_action", [row])

    def close(self) -> None:
        self.store.close()
