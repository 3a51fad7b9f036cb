"""Where the sandbox keeps things, and the sink configuration it writes for each recipient.

One folder (default ``.hub/sandbox``). Keys persist across runs (the partner keys a team
dropped in, the development pseudonymisation and audit keys); everything that describes
one run's traffic is reset at each start, since the embedded broker keeps nothing either.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from hub.agreements.loader import load_agreements
from hub.agreements.partnership import load_partnership

# The SQL table each kind of recipient's case system receives into (as in the demo).
TABLE_BY_KIND = {"mash": "mash_referrals", "iom": "iom_nominals", "msn": "msn_cases"}


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def keys(self) -> Path:
        """Where a partner drops its public key (the processor reads it between batches)."""
        return self.root / "partner-keys"

    @property
    def sinks(self) -> Path:
        return self.root / "sinks"

    @property
    def connectors(self) -> Path:
        return self.root / "connectors"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def registry_db(self) -> Path:
        return self.root / "registry.db"

    @property
    def audit_db(self) -> Path:
        return self.root / "audit.db"

    def reset(self) -> None:
        """Remove the previous run's traffic; keep every key folder."""
        for folder in (self.sinks, self.connectors, self.logs, self.samples):
            shutil.rmtree(folder, ignore_errors=True)
        for db in (self.registry_db, self.audit_db):
            for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                path.unlink(missing_ok=True)
        for folder in (self.root, self.sinks, self.connectors, self.logs, self.samples):
            folder.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(parents=True, exist_ok=True, mode=0o700)


def recipients(partnership_dir: Path) -> dict[str, str]:
    """Every recipient (the register's and any an agreement names) with its kind."""
    register = load_partnership(partnership_dir)
    out = {r.id: r.kind for r in register.recipients}
    for agreement in load_agreements(partnership_dir / "agreements"):
        for recipient in agreement.recipients:
            out.setdefault(recipient, "partner")
    return dict(sorted(out.items()))


def sink_output(layout: Layout, recipient: str, kind: str) -> Path:
    """Where ``recipient``'s sink writes: a SQLite case-system table for MASH, IOM and MSN,
    daily files in a folder for the others (as in the demo)."""
    if kind in TABLE_BY_KIND:
        return layout.sinks / f"{recipient}.db"
    return layout.sinks / recipient


def write_sink_config(layout: Layout, recipient: str, kind: str) -> Path:
    """The sink of one recipient, named after it (consumer group ``sink-<id>``, as its
    production principal would need); bootstrap and registry come from the environment."""
    output = sink_output(layout, recipient, kind).resolve()
    sink: dict[str, str]
    if kind in TABLE_BY_KIND:
        sink = {"type": "sql-upsert", "url": f"sqlite:///{output}", "table": TABLE_BY_KIND[kind]}
    else:
        fmt = "csv" if kind == "vrp" else "jsonl"  # VRP analysts take daily CSVs
        sink = {"type": "file-export", "directory": str(output), "format": fmt}
    config = {
        "name": recipient,
        "recipient": recipient,
        "system": f"{recipient}-sandbox",
        "state_dir": str((layout.connectors / "state" / recipient).resolve()),
        "sink": sink,
    }
    path = layout.connectors / f"{recipient}.yaml"
    header = f"# hub sandbox: {recipient}'s sink (generated at each start; edit a copy)\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path
