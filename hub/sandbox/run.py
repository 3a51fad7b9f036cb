"""``hub sandbox``: the hub's main job on embedded defaults, for a partner team to connect to.

An orchestrator of the hub's own commands, each a child process run exactly as an operator
would run it (hub/sandbox/services.py): ``hub broker``, ``hub registry serve``,
``hub deploy apply`` (topics, and every catalogue schema in the registry), ``hub process``,
``hub audit ingest``, ``hub connector run`` for every recipient's SQLite sink, and
``hub console`` with a one-off account. Changes to those commands reach the sandbox as
they are. The sandbox itself serves only its small API (hub/sandbox/api.py).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from hub.agreements.loader import load_agreements
from hub.catalogue.schemas import load_catalogue
from hub.catalogue.topics import parse_partner_topic
from hub.config import Settings
from hub.deploy.load import load_topology
from hub.policy.engine import PolicyEngine
from hub.processor.build import partner_keys
from hub.sandbox.api import ApiServer, create_api
from hub.sandbox.dryrun import RecordChecker
from hub.sandbox.guide import SandboxInfo, partner_guide
from hub.sandbox.layout import Layout, recipients, sink_output, write_sink_config
from hub.sandbox.samples import write_samples
from hub.sandbox.services import SandboxError, Service, Supervisor
from hub.sandbox.watch import Watcher

CONSOLE_USER = "sandbox-ig-officer"
HOST = "127.0.0.1"
# What each command prints once it is up (the sandbox waits for these lines).
LISTENING = "listening on"  # hub broker, hub registry serve
SINK_READY = "running; SIGTERM"  # hub connector run
PROCESSOR_READY = "consuming partner topics"  # hub process
INGEST_READY = "hub audit ingest:"
CONSOLE_READY = "IG console on"


@dataclass(frozen=True)
class SandboxOptions:
    root: Path
    broker_port: int = 9092
    registry_port: int = 8081
    console_port: int = 8400
    api_port: int = 8402
    partner: str | None = None


def _port(wanted: int, flag: str) -> int:
    """``wanted``, checked free now (0: any free port); SandboxError saying which flag."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, wanted))
        except OSError as exc:
            raise SandboxError(
                f"port {wanted} is taken ({exc.strerror}; another sandbox, Kafka or registry?): "
                f"pass {flag} 0 for any free port"
            ) from exc
        port: int = s.getsockname()[1]
        return port


def _child_env(settings: Settings, layout: Layout, bootstrap: str, registry: str) -> dict[str, str]:
    # The embedded broker is plaintext: a production HUB_KAFKA__* setting must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_KAFKA__")}
    env.update(
        HUB_DATA_DIR=str(layout.root.resolve()),
        HUB_BOOTSTRAP_SERVERS=bootstrap,
        HUB_SCHEMA_REGISTRY_URL=registry,
        HUB_AUDIT_URL=f"sqlite:///{layout.audit_db.resolve()}",
        HUB_PARTNERSHIP_DIR=str(settings.partnership_dir.resolve()),
        HUB_SCHEMAS_DIR=str(settings.schemas_dir.resolve()),
        PYTHONUNBUFFERED="1",
    )
    return env


class Sandbox:
    """One run: start, watch, stop. ``say`` prints to the person at the terminal."""

    def __init__(self, settings: Settings, options: SandboxOptions, say: Callable[[str], None]):
        self.settings = settings
        self.options = options
        self.say = say
        self.layout = Layout(options.root)
        self.sinks: set[str] = set()
        self.supervisor: Supervisor | None = None
        self.api: ApiServer | None = None
        self.info: SandboxInfo | None = None

    def _apply_topics(self, wait: bool = True) -> list[tuple[Service, str]]:
        """Topics and schemas of the agreements now on disk (idempotent), then a sink for
        every recipient that has none yet; returns the sinks still starting unless ``wait``."""
        assert self.supervisor is not None and self.info is not None
        self.supervisor.run_once(
            "deploy-apply",
            [
                *("deploy", "apply", "--no-acls", "--replication-factor", "1"),
                *("--min-insync-replicas", "1", "--partner-partitions", "1"),
                *("--share-partitions", "1", "--bootstrap", self.info.bootstrap),
                *("--registry-url", self.info.registry_url),
            ],
        )
        topology = load_topology(self.settings.partnership_dir, self.settings.schemas_dir)
        self.info.partner_topics = {p: list(topology.partner_topics(p)) for p in topology.partners}
        starting = []
        for recipient, kind in recipients(self.settings.partnership_dir).items():
            if recipient in self.sinks:
                continue
            config = write_sink_config(self.layout, recipient, kind)
            sink = self.supervisor.start(f"sink-{recipient}", ["connector", "run", str(config)])
            starting.append((sink, SINK_READY))
            self.sinks.add(recipient)
            self.info.outputs[recipient] = sink_output(self.layout, recipient, kind).resolve()
        if wait:
            for service, ready in starting:
                self.supervisor.wait_ready(service, ready)
            return []
        return starting

    def _prepare(self) -> SandboxInfo:
        """Ports checked free, the folder reset, the children's environment."""
        o, layout = self.options, self.layout
        layout.reset()
        bootstrap = f"{HOST}:{_port(o.broker_port, '--broker-port')}"
        registry = f"http://{HOST}:{_port(o.registry_port, '--registry-port')}"
        console_port = _port(o.console_port, "--console-port")
        env = _child_env(self.settings, layout, bootstrap, registry)
        self.supervisor = Supervisor(layout.logs, env)
        return SandboxInfo(
            root=layout.root.resolve(),
            bootstrap=bootstrap,
            registry_url=registry,
            console_url=f"http://{HOST}:{console_port}",
            console_user=CONSOLE_USER,
            console_password=secrets.token_urlsafe(18),
            api_url="",
            keys_dir=layout.keys.resolve(),
            logs_dir=layout.logs.resolve(),
            outputs={},
            partner_topics={},
        )

    def _start_services(self, info: SandboxInfo) -> list[tuple[Service, str]]:
        """The processor, the ingester and the console (with its one-off account), not
        waited for: they start alongside the sinks."""
        sup = self.supervisor
        assert sup is not None
        audit_url = sup.env["HUB_AUDIT_URL"]
        starting = [
            (sup.start("processor", ["process", "--instance", "sandbox-0"]), PROCESSOR_READY),
            (sup.start("audit-ingest", ["audit", "ingest"]), INGEST_READY),
        ]
        account = ["console", "user", "add", CONSOLE_USER, "--role", "ig-officer"]
        sup.run_once(
            "console-account",
            [*account, "--audit-url", audit_url],
            extra_env={"HUB_CONSOLE_PASSWORD": info.console_password},  # never an argument
        )
        console = [
            *("console", "--port", info.console_url.rsplit(":", 1)[1], "--audit-url", audit_url),
            *("--bootstrap", info.bootstrap, "--registry-url", info.registry_url),
        ]
        starting.append((sup.start("console", console), CONSOLE_READY))
        return starting

    def start(self) -> SandboxInfo:
        info = self.info = self._prepare()
        sup = self.supervisor
        assert sup is not None
        sup.start("broker", ["broker", "--port", info.bootstrap.rsplit(":", 1)[1]], LISTENING)
        registry_db = f"sqlite:///{self.layout.registry_db.resolve()}"
        port = info.registry_url.rsplit(":", 1)[1]
        sup.start("registry", ["registry", "serve", "--port", port, "--db", registry_db], LISTENING)
        starting = self._apply_topics(wait=False)
        starting += self._start_services(info)
        self._write_samples()
        for service, ready in starting:
            sup.wait_ready(service, ready)
        # The children's view: keys and audit in the sandbox's folder.
        children = self.settings.model_copy(update={"data_dir": self.layout.root})
        checker = RecordChecker(children, info.registry_url)
        api = ApiServer(create_api(info, checker, self.guide), HOST, self.options.api_port)
        info.api_url = api.url
        self.api = api.start()
        return info

    def _write_samples(self) -> None:
        assert self.info is not None
        catalogue = load_catalogue(self.settings.schemas_dir)
        engine = PolicyEngine(load_agreements(self.settings.partnership_dir / "agreements"))
        streams = []
        for topics in self.info.partner_topics.values():
            for topic in topics:
                parsed = parse_partner_topic(topic)
                if parsed is not None and catalogue.get(parsed.event_type) is not None:
                    streams.append((parsed.partner, parsed.event_type))
        write_samples(self.layout.samples, catalogue, engine, streams, datetime.now(UTC))

    def guide(self, partner: str) -> str:
        """``--partner``: that partner's topics, subjects and ready-to-run examples."""
        assert self.info is not None
        keys = partner_keys(self.settings.model_copy(update={"data_dir": self.layout.root}))
        dev_key = keys.dev_signing_key(partner)  # generated (0600) on first use
        dev_path = self.layout.keys.resolve() / f"{partner}.{dev_key.key_id.split('/')[1]}.key"
        subjects: dict[str, int | None] = {}
        for topic in self.info.partner_topics.get(partner, []):
            subject = f"{topic}-value"
            try:
                found = httpx.get(
                    f"{self.info.registry_url}/subjects/{subject}/versions/latest", timeout=5
                )
                subjects[subject] = found.json().get("id") if found.status_code == 200 else None
            except httpx.HTTPError:
                subjects[subject] = None
        samples = {
            t: self.layout.samples.resolve() / f"{partner}.{parse_partner_topic(t).event_type}.json"  # type: ignore[union-attr]
            for t in self.info.partner_topics.get(partner, [])
        }
        return partner_guide(self.info, partner, subjects, samples, dev_path)

    def _agreements_changed(self) -> None:
        """New topics, schemas and sinks for what the agreements now name; a failure is
        reported and the run goes on (the processor keeps the rules it can load)."""
        assert self.info is not None
        before = set(self.sinks)
        try:
            self._apply_topics()
        except SandboxError as exc:
            self.say(f"could not apply the changed agreements: {exc}")
            return
        topics = sum(len(t) for t in self.info.partner_topics.values())
        added = ", ".join(sorted(self.sinks - before)) or "none"
        self.say(f"agreements applied: {topics} partner topics; new sinks: {added}")

    def watch(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Until ``stop``: report key and agreement changes; fail if a service dies."""
        assert self.supervisor is not None
        watcher = Watcher(
            self.settings.partnership_dir / "partner-keys",
            self.layout.keys,
            self.settings.partnership_dir / "agreements",
            self.say,
            self._agreements_changed,
        )
        while not stop.wait(interval):
            dead = self.supervisor.exited()
            if dead:
                s = dead[0]
                raise SandboxError(
                    f"{s.name} stopped on its own (code {s.proc.returncode}); its log "
                    f"{s.log} ends:\n{s.tail()}"
                )
            watcher.poll()

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.supervisor is not None:
            # Services first (they commit and leave their groups), the broker last.
            self.supervisor.stop_all(last=("registry", "broker"))
            self.supervisor = None
