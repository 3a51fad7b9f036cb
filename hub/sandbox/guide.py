"""What the sandbox prints: where everything is, and for one partner how to publish."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.catalogue.topics import parse_partner_topic
from hub.config import project_root


@dataclass
class SandboxInfo:
    root: Path
    bootstrap: str
    registry_url: str
    console_url: str
    console_user: str
    console_password: str = field(repr=False)
    api_url: str
    keys_dir: Path
    logs_dir: Path
    outputs: dict[str, Path]  # recipient -> its SQLite database or export folder
    partner_topics: dict[str, list[str]]  # partner -> the topics it may publish to

    def as_dict(self) -> dict[str, Any]:
        """For the API: everything but the console password."""
        return {
            "bootstrap": self.bootstrap,
            "registry_url": self.registry_url,
            "console_url": self.console_url,
            "api_url": self.api_url,
            "keys_dir": str(self.keys_dir),
            "logs_dir": str(self.logs_dir),
            "outputs": {r: str(p) for r, p in self.outputs.items()},
            "partner_topics": self.partner_topics,
        }


def environment(info: SandboxInfo) -> str:
    """The variables that point ``hub`` commands at this sandbox."""
    return (
        f"export HUB_BOOTSTRAP_SERVERS={info.bootstrap} "
        f"HUB_SCHEMA_REGISTRY_URL={info.registry_url} "
        f"HUB_DATA_DIR={shlex.quote(str(info.root))}"
    )


def banner(info: SandboxInfo) -> str:
    lines = [
        "hub sandbox is up (the broker keeps everything in memory: Ctrl-C ends the run)",
        f"  Kafka bootstrap:     {info.bootstrap}",
        f"  schema registry:     {info.registry_url}",
        f"  IG console:          {info.console_url}  (user {info.console_user}, "
        f"password {info.console_password}; this run only)",
        f"  check a record:      POST {info.api_url}/check-record  (or hub partner check-record)",
        f"  drop public keys in: {info.keys_dir}/<partner>.<key name>.pub  (read within seconds)",
        f"  service logs:        {info.logs_dir}",
        "  in another terminal, for the hub commands (publish, check-record, deadletter list):",
        f"    {environment(info)}",
        "  each recipient's output (SQLite case-system tables, or daily files):",
    ]
    width = max((len(r) for r in info.outputs), default=0)
    lines += [f"    {r:<{width}}  {path}" for r, path in sorted(info.outputs.items())]
    lines.append("  `hub sandbox --partner <id>` prints a partner's topics and a publish example")
    return "\n".join(lines)


def partner_guide(
    info: SandboxInfo,
    partner: str,
    subjects: dict[str, int | None],
    samples: dict[str, Path],
    dev_key: Path,
) -> str:
    """Topics, subjects and ready-to-run publish commands for ``partner``."""
    topics = info.partner_topics.get(partner, [])
    if not topics:
        return f"{partner} publishes nothing under the agreements in force: no topic to publish to"
    root = project_root()
    lines = [f"{partner} in the sandbox", "  topics you publish to (subject -> schema id):"]
    for topic in topics:
        subject = f"{topic}-value"
        lines.append(f"    {topic}  ({subject} -> {subjects.get(subject)})")
    first = topics[0]
    slug = parse_partner_topic(first).event_type  # type: ignore[union-attr]
    sample = samples.get(first)
    key_name = dev_key.name.removesuffix(".key").partition(".")[2]
    q = shlex.quote
    lines += [
        f"  schemas to take: {root / 'schemas' / 'avro' / 'standalone'}/<event type>.avsc",
        f"  sample events:   {sample.parent if sample else '-'}/{partner}.<event type>.json",
        f"  signing: a development key is ready, key id {partner}/{key_name}: {dev_key}",
        "    or register your own (the processor reads it within seconds, no restart):",
        f"      openssl genpkey -algorithm ed25519 -out {partner}.k1.key",
        f"      openssl pkey -in {partner}.k1.key -pubout -out "
        f"{q(str(info.keys_dir / f'{partner}.k1.pub'))}",
        "  publish one event (Python, the hub's SDK), after the export line above:",
        f"    hub partner publish --partner {partner} --event-type {slug} "
        f"--signing-key {q(str(dev_key))}",
        "  publish from Node.js (KafkaJS; `npm ci --prefix tests/node` once):",
        f"    node {q(str(root / 'tests' / 'node' / 'publish.mjs'))} --bootstrap {info.bootstrap} "
        f"--registry {info.registry_url} --topic {first} --event {q(str(sample))} "
        f"--signing-key {q(str(dev_key))} --key-id {partner}/{key_name}",
        "  dry-run one record (add --dump record.json to either command above):",
        "    hub partner check-record record.json",
        f"    curl -s --data @record.json {info.api_url}/check-record",
        f"  then see it in the IG console: {info.console_url}",
    ]
    return "\n".join(lines)
