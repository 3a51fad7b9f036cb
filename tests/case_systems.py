"""A recipient's case system for tests: the product's sink (``SinkRunner`` with a
``SqlUpsertWriter``) writing one recipient's stream into a SQLite file, built the way the
demo builds its sinks (``hub.demo.partnership``).

The table follows the recipient's kind (``mash_referrals``, ``iom_nominals`` or
``msn_cases``); a recipient without a SQL table kind gets ``mash_referrals`` (every table
keeps the whole record as JSON and its summary columns are nullable). Rows are keyed by
disclosure id, so a redelivered disclosure never creates a second row. The sink also sends
a receipt per disclosure to ``hub.receipts.v1``: that topic must exist.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.base.rejects import RejectLog
from connectors.base.sink import SinkRunner
from connectors.sinks.sql_upsert import SqlUpsertWriter
from hub.config import Settings
from hub.demo.partnership import TABLE_BY_KIND, recipients

DEFAULT_TABLE = "mash_referrals"


def table_for_recipient(recipient: str, settings: Settings | None = None) -> str:
    """The table ``_sinks`` gives this recipient; ``mash_referrals`` if it has no SQL kind."""
    kind = recipients(settings or Settings()).get(recipient, "")
    return TABLE_BY_KIND.get(kind, DEFAULT_TABLE)


class CaseSystem:
    """One recipient's SQLite case system, fed by the real sink SDK."""

    def __init__(
        self,
        *,
        recipient: str,
        db_path: Path,
        bootstrap: str,
        registry_url: str,
        settings: Settings | None = None,
    ) -> None:
        self.recipient = recipient
        self.db_path = db_path.resolve()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.table = table_for_recipient(recipient, settings)
        self.writer = SqlUpsertWriter(
            f"sqlite:///{self.db_path}", self.table, f"{recipient}-case-system"
        )
        self.runner = SinkRunner(
            name=f"sink-{recipient}",
            recipient=recipient,
            writer=self.writer,
            bootstrap=bootstrap,
            registry_url=registry_url,
            rejects=RejectLog(self.db_path.parent / "rejects", f"sink-{recipient}"),
        )

    @property
    def consumed(self) -> int:
        """Records taken from the recipient's topics (redeliveries included)."""
        return self.runner.counts.consumed

    def run(
        self,
        stop: threading.Event,
        *,
        until: Callable[[CaseSystem], bool] | None = None,
        poll_timeout: float = 0.5,
    ) -> None:
        """Consume, write, receipt and commit until ``stop`` is set or ``until(self)``."""
        self.runner.run(
            stop,
            until=None if until is None else (lambda _runner: until(self)),
            poll_timeout=poll_timeout,
        )

    def count(self) -> int:
        """Rows in the case system's table (one per disclosure id)."""
        return self.writer.count()

    def rows(self) -> list[dict[str, Any]]:
        """Every row, with all its columns (``record`` as the stored JSON text)."""
        return self.writer.rows()

    def records(self) -> list[dict[str, Any]]:
        """Every row as ``disclosure_id``, ``agreement`` and the ``record`` parsed back."""
        return [
            {
                "disclosure_id": row["disclosure_id"],
                "agreement": row["agreement"],
                "record": json.loads(row["record"]),
            }
            for row in self.rows()
        ]

    def close(self) -> None:
        """Close the consumer and the receipts producer, then the database."""
        self.runner.close()
