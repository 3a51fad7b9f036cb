"""The whole synthetic partnership, through the real connectors.

:func:`run_partnership` plays every partner's IT: Merseyside Police and the five councils
export files into drop folders (the police's safeguarding concerns as the CSV of
``connectors/examples/police-concerns-csv.yaml``, everything else as JSON lines); fire,
probation, health and youth justice call a web hook. A little bad input is mixed in, as in
real life: bad rows in a CSV export, a file exported twice, a call with a wrong token, an
event that does not match its schema. Every recipient gets its sink: SQL upserts for the
MASHs, the IOM unit and the Modern Slavery Network, a daily CSV export for the Violence
Reduction Partnership, JSON lines for the police (MASH decisions). Receipts go to
``hub.receipts.v1``. The hub processor runs alongside, unless the caller runs its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base.config import DropFolderSourceConfig as DropFolderConfig
from connectors.base.config import (
    FileRoute,
    RetryConfig,
    load_config,
)
from connectors.base.health import ConnectorMetrics
from connectors.base.rejects import RejectLog
from connectors.base.sink import SinkRunner, SinkWriter
from connectors.base.source import SourceContext
from connectors.sinks.file_export import FileExportWriter
from connectors.sinks.sql_upsert import SqlUpsertWriter
from connectors.sources.drop_folder import DropFolderSource
from connectors.synthetic.exports import drop_atomically, jsonl_export, police_csv
from connectors.synthetic.generator import PartnershipGenerator, SyntheticEvent
from hub.agreements.loader import load_agreements
from hub.agreements.partnership import load_partnership
from hub.catalogue.schemas import Catalogue, load_catalogue
from hub.catalogue.topics import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    RECEIPTS_TOPIC,
    partner_topic,
    share_topic,
)
from hub.config import Settings, project_root
from hub.demo.webhook import IN_FLIGHT, WEBHOOK_PARTNERS, post_all, receiver
from hub.errors import HubError
from hub.identity.keys import PartnerKeyStore
from hub.processor.processor import Processor

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]

DROP_FOLDER_PARTNERS = (
    "merseyside-police",
    "liverpool-cc",
    "knowsley-mbc",
    "sefton-mbc",
    "st-helens-mbc",
    "wirral-mbc",
)
POLICE_CSV_EXAMPLE = project_root() / "connectors" / "examples" / "police-concerns-csv.yaml"
TABLE_BY_KIND = {"mash": "mash_referrals", "iom": "iom_nominals", "msn": "msn_cases"}


@dataclass
class PartnershipRun:
    """What happened, by connector and recipient (for the demo's summary)."""

    published: dict[str, int]  # accepted and acknowledged events per partner
    rejected: dict[str, int]  # inputs refused by the connectors, by reason code
    rejects: list[dict[str, Any]]  # each with where (file/row, request id) and why
    delivered: dict[str, int]  # disclosures written per recipient
    failed: dict[str, int]  # disclosures a recipient system refused
    receipts: dict[str, int]  # receipts sent, by status
    files: dict[str, int]  # drop-folder files processed / rejected
    webhook_calls: dict[str, int]  # answers by HTTP status
    processor: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def published_total(self) -> int:
        return sum(self.published.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "published_total": self.published_total,
            "rejected": self.rejected,
            "delivered": self.delivered,
            "failed": self.failed,
            "receipts": self.receipts,
            "files": self.files,
            "webhook_calls": self.webhook_calls,
            "processor": self.processor,
            "outputs": self.outputs,
            "seconds": round(self.seconds, 2),
        }


def partnership_topics(settings: Settings) -> list[str]:
    """Every topic the reference partnership uses: partner topics of every provider and
    every type the generator produces, recipient topics of every agreement, hub topics."""
    from connectors.synthetic.generator import RATES

    topics = {DEADLETTER_TOPIC, AUDIT_TOPIC, RECEIPTS_TOPIC}
    topics |= {partner_topic(p, t) for p, t, _r in RATES}
    for a in load_agreements(settings.partnership_dir / "agreements"):
        for t in a.event_types:
            topics |= {partner_topic(p, t) for p in a.providers}
            topics |= {share_topic(r, t) for r in a.recipients}
    return sorted(topics)


def recipients(settings: Settings) -> dict[str, str]:
    """Every recipient (register and agreements) with its kind (mash, iom, msn, vrp...)."""
    register = load_partnership(settings.partnership_dir)
    out = {r.id: r.kind for r in register.recipients}
    for a in load_agreements(settings.partnership_dir / "agreements"):
        for r in a.recipients:
            out.setdefault(r, "partner")
    return dict(sorted(out.items()))


class _Background:
    """Threads of one run; the first failure stops the others and is raised at the end."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self._threads: list[tuple[threading.Thread, list[BaseException]]] = []

    def spawn(self, name: str, fn: Callable[[], Any]) -> None:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
                self.stop.set()

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append((thread, errors))

    def failed(self) -> list[BaseException]:
        return [e for _t, errors in self._threads for e in errors]

    def join(self) -> None:
        self.stop.set()
        for thread, _errors in self._threads:
            thread.join(20)


def _sinks(
    settings: Settings, bootstrap: str, registry_url: str, workdir: Path, retry: RetryConfig
) -> tuple[dict[str, SinkRunner], dict[str, str]]:
    """A sink for every recipient: SQL upserts for MASH, IOM and MSN, files for the rest."""
    sinks: dict[str, SinkRunner] = {}
    outputs: dict[str, str] = {}
    for recipient, kind in recipients(settings).items():
        writer: SinkWriter
        if kind in TABLE_BY_KIND:
            db = (workdir / "sinks" / f"{recipient}.db").resolve()
            db.parent.mkdir(parents=True, exist_ok=True)
            writer = SqlUpsertWriter(
                f"sqlite:///{db}", TABLE_BY_KIND[kind], f"{recipient}-case-system"
            )
            outputs[recipient] = str(db)
        else:
            fmt = "csv" if kind == "vrp" else "jsonl"  # VRP analysts take daily CSVs
            writer = FileExportWriter(workdir / "exports", recipient, f"{recipient}-files", fmt)
            outputs[recipient] = str((workdir / "exports" / recipient).resolve())
        sinks[recipient] = SinkRunner(
            name=f"sink-{recipient}",
            recipient=recipient,
            writer=writer,
            bootstrap=bootstrap,
            registry_url=registry_url,
            rejects=RejectLog(workdir / "sinks" / "rejects", f"sink-{recipient}"),
            retry_policy=retry,
        )
    return sinks, outputs


def _drop_folders(
    by_partner: dict[str, list[SyntheticEvent]],
    catalogue: Catalogue,
    workdir: Path,
    context: Callable[[str, str], SourceContext],
    bad_input: bool,
) -> list[DropFolderSource]:
    """A drop folder per partner, filled with a file per event type and day."""
    police = load_config(POLICE_CSV_EXAMPLE)
    assert isinstance(police.source, DropFolderConfig)
    csv_route = police.source.files[0]
    folders = []
    for partner in DROP_FOLDER_PARTNERS:
        mine = by_partner.get(partner, [])
        routes = [
            FileRoute(pattern=f"{t}-*.jsonl", event_type=t, format="jsonl")
            for t in sorted({e.event_type for e in mine})
        ]
        if partner == "merseyside-police":
            routes.insert(0, csv_route)
        if not mine:
            continue  # a short run can leave a partner with nothing to export
        config = DropFolderConfig(
            kind="drop-folder",
            inbox=workdir / "drop" / partner / "inbox",
            files=routes,
            settle_seconds=0,  # files are renamed into place
            batch_rows=200,
        )
        folders.append(DropFolderSource(config, context(partner, f"drop-{partner}")))
        by_day: dict[tuple[str, str], list[SyntheticEvent]] = {}
        for e in mine:
            day = e.event["envelope"]["occurred_at"].strftime("%Y-%m-%d")
            by_day.setdefault((e.event_type, day), []).append(e)
        first_csv = True
        for (slug, day), batch in sorted(by_day.items()):
            if slug == csv_route.event_type and partner == "merseyside-police":
                content = police_csv([b.event for b in batch], bad_input and first_csv)
                drop_atomically(config.inbox, f"concerns-{day}.csv", content)
                first_csv = False
            else:
                drop_atomically(config.inbox, f"{slug}-{day}.jsonl", jsonl_export(catalogue, batch))
        if bad_input and partner == "liverpool-cc" and by_day:
            # The council's scheduler ran an export twice: same content, another name.
            (slug, day), batch = sorted(by_day.items())[0]
            rerun = jsonl_export(catalogue, batch)
            drop_atomically(config.inbox, f"{slug}-{day}.rerun.jsonl", rerun)
    return folders


@dataclass
class _Run:
    """The live pieces of one run, closed together whatever happens."""

    settings: Settings
    bootstrap: str
    registry_url: str
    workdir: Path
    stop: threading.Event
    report: Progress
    catalogue: Catalogue
    keys: PartnerKeyStore
    retry: RetryConfig
    rejects: RejectLog
    background: _Background
    contexts: dict[str, SourceContext] = field(default_factory=dict)
    sinks: dict[str, SinkRunner] = field(default_factory=dict)
    processor: Processor | None = None
    # Records the processor waits for: known once every source is done (-1 until then).
    expected: int = -1

    def context(self, partner: str, name: str) -> SourceContext:
        self.contexts[partner] = SourceContext(
            name=name,
            partner=partner,
            signer=self.keys.dev_signing_key(partner),
            catalogue=self.catalogue,
            bootstrap=self.bootstrap,
            registry_url=self.registry_url,
            state_dir=self.workdir / "connectors" / partner,
            retry_policy=self.retry,
            rejects=self.rejects,
            metrics=ConnectorMetrics(name),
        )
        return self.contexts[partner]

    def close(self) -> None:
        """Stop the threads, then close the clients too, or their threads keep calling a
        broker that is going away."""
        self.background.join()
        if self.processor is not None:
            self.processor.close()
        for s in self.sinks.values():
            s.close()
        for ctx in self.contexts.values():
            ctx.close()


def run_partnership(
    settings: Settings,
    bootstrap: str,
    registry_url: str,
    workdir: Path,
    events: int = 600,
    seed: int = 7,
    stop: threading.Event | None = None,
    *,
    run_processor: bool = True,
    progress: Progress | None = None,
    timeout: float = 180.0,
    bad_input: bool = True,
    extra_records: int = 0,
) -> PartnershipRun:
    """Drive every partner's connector with ``events`` synthetic events and deliver every
    recipient's stream into its sink; returns once all of it is delivered and receipted.

    The topics must exist (:func:`partnership_topics`). With ``run_processor`` (default)
    the hub processor runs here (its decisions go to ``hub.audit.v1`` for the caller's
    audit ingester, as do the sinks' receipts on ``hub.receipts.v1``); without it, the
    caller runs a processor on the same broker and this returns once the sinks have been
    idle for a few seconds after publishing. ``progress(stage, done, total)`` is called
    with the stages ``publish`` (files), ``process`` (records) and ``deliver``
    (disclosures). Setting ``stop`` ends the run early (Ctrl-C). ``extra_records`` counts
    records the caller put on partner topics itself (e.g. hostile wire-level input for the
    dead-letter demo), so the processor here also waits for those."""
    started = time.monotonic()
    run = _prepare(settings, bootstrap, registry_url, workdir, stop, progress)
    generated = PartnershipGenerator(run.catalogue, seed=seed).events(events)
    sink_outputs = _start_services(run, run_processor)
    try:
        folders, calls = _publish_all(run, generated, bad_input)
    except BaseException:
        run.close()
        raise
    published = {p: ctx.counts.published for p, ctx in sorted(run.contexts.items())}
    run.expected = sum(published.values()) + extra_records
    # Wait until the processor decided everything and each disclosure is receipted.
    try:
        done = _wait(
            run.processor, run.sinks, run.expected, run.report, run.stop, timeout, run.background
        )
    finally:
        run.close()
    if run.background.failed():
        raise run.background.failed()[0]
    if not done:
        raise HubError(
            f"partnership run stopped before every disclosure was receipted ({timeout:.0f}s limit)"
        )
    result = _result(run, published, folders, calls, sink_outputs)
    result.seconds = time.monotonic() - started
    return result


def _prepare(
    settings: Settings,
    bootstrap: str,
    registry_url: str,
    workdir: Path,
    stop: threading.Event | None,
    progress: Progress | None,
) -> _Run:
    workdir.mkdir(parents=True, exist_ok=True)
    from hub.processor.build import partner_keys

    keys = partner_keys(settings)  # development keys, which the processor trusts
    for partner in (*DROP_FOLDER_PARTNERS, *WEBHOOK_PARTNERS):
        keys.dev_signing_key(partner)  # before the processor starts, so it knows them all
    stop = stop or threading.Event()
    return _Run(
        settings=settings,
        bootstrap=bootstrap,
        registry_url=registry_url,
        workdir=workdir,
        stop=stop,
        report=progress or (lambda _s, _d, _t: None),
        catalogue=load_catalogue(settings.schemas_dir),
        keys=keys,
        retry=RetryConfig(max_attempts=5, initial_seconds=0.2, max_seconds=2.0),
        rejects=RejectLog(workdir / "connectors" / "rejects", "partnership"),
        background=_Background(stop),
    )


def _start_services(run: _Run, run_processor: bool) -> dict[str, str]:
    """A sink for every recipient, and the processor, running as they would in production;
    returns where each sink writes."""
    from hub.processor.build import build_processor

    run.sinks, outputs = _sinks(
        run.settings, run.bootstrap, run.registry_url, run.workdir, run.retry
    )
    if run_processor:
        proc = run.processor = build_processor(
            run.settings, bootstrap=run.bootstrap, registry_url=run.registry_url
        )

        def run_proc() -> None:
            proc.run(
                run.stop,
                until=lambda s: run.expected >= 0 and s.consumed >= run.expected,
                on_batch=lambda s: run.report("process", s.consumed, max(run.expected, 0)),
            )

        run.background.spawn("processor", run_proc)
    for recipient, sink in run.sinks.items():
        run.background.spawn(f"sink-{recipient}", _runner(sink, run.stop))
    return outputs


def _publish_all(
    run: _Run, generated: list[SyntheticEvent], bad_input: bool
) -> tuple[list[DropFolderSource], Counter[str]]:
    """Drop folders for the police and the councils, a web hook for the others: every
    partner's system at the same time, as in life (one after another, each waited for the
    last; the processor and the broker sat idle meanwhile)."""
    by_partner: dict[str, list[SyntheticEvent]] = {}
    for e in generated:
        by_partner.setdefault(e.partner, []).append(e)
    folders = _drop_folders(by_partner, run.catalogue, run.workdir, run.context, bad_input)
    total_files = sum(1 for f in folders for p in f.inbox.iterdir() if f.route(p))
    files_done = 0
    lock = threading.Lock()

    def scan(folder: DropFolderSource) -> None:
        nonlocal files_done
        n = folder.scan(run.stop)
        with lock:
            files_done += n
            run.report("publish", files_done, total_files)

    hook, tokens = receiver(by_partner, run.settings, run.context, run.rejects)
    try:
        posts = [e for e in generated if e.partner in WEBHOOK_PARTNERS]
        lanes = len(folders) + len(WEBHOOK_PARTNERS) * IN_FLIGHT
        with ThreadPoolExecutor(lanes, "demo-partner") as pool:
            scans = [pool.submit(scan, f) for f in folders]
            calls = post_all(hook.url, posts, tokens, run.catalogue, run.stop, bad_input, pool)
            for done in scans:
                done.result()
    finally:
        hook.stop()
    return folders, calls


def _result(
    run: _Run,
    published: dict[str, int],
    folders: list[DropFolderSource],
    calls: Counter[str],
    sink_outputs: dict[str, str],
) -> PartnershipRun:
    entries = run.rejects.entries()
    sinks = run.sinks
    result = PartnershipRun(
        published=published,
        rejected=dict(sorted(Counter(r["code"] for r in entries).items())),
        rejects=entries,
        delivered={r: s.counts.delivered for r, s in sinks.items()},
        failed={r: s.counts.failed for r, s in sinks.items()},
        receipts={
            "delivered": sum(s.counts.delivered for s in sinks.values()),
            "failed": sum(s.counts.failed for s in sinks.values()),
        },
        files=dict(Counter(r.status for f in folders for r in f.reports)),
        webhook_calls=dict(sorted(calls.items())),
        outputs={
            "sinks": sink_outputs,
            "drop_folders": str((run.workdir / "drop").resolve()),
            "rejects": str(run.rejects.folder.resolve()),
        },
    )
    if run.processor is not None:
        st = run.processor.stats
        result.processor = {
            "consumed": st.consumed,
            "decisions": st.decisions,
            "shared": dict(sorted(st.shared.items())),
            "withheld": st.withheld,
            "deadlettered": dict(st.deadlettered),
        }
    return result


def _wait(
    processor: Processor | None,
    sinks: dict[str, SinkRunner],
    published_total: int,
    report: Progress,
    stop: threading.Event,
    timeout: float,
    background: _Background,
) -> bool:
    """True once every disclosure the processor shared is delivered and receipted (or,
    without a processor here, once the sinks have been idle for a while)."""
    deadline = time.monotonic() + timeout
    idle_since, last_seen = time.monotonic(), -1
    while not stop.is_set() and not background.failed():
        done = sum(s.counts.delivered + s.counts.failed for s in sinks.values())
        if processor is not None:
            if processor.stats.consumed >= published_total:
                # Disclosures and retraction notices (issue 18), each delivered and receipted.
                shared = processor.stats.shared + processor.stats.retracted
                report("deliver", done, sum(shared.values()))
                if all(
                    sinks[r].counts.receipts >= n
                    and sinks[r].counts.delivered + sinks[r].counts.failed >= n
                    for r, n in shared.items()
                    if r in sinks
                ):
                    return True
        else:
            if done != last_seen:
                idle_since, last_seen = time.monotonic(), done
            if time.monotonic() - idle_since > 5.0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return not background.failed() and not stop.is_set()


def _runner(sink: SinkRunner, stop: threading.Event) -> Callable[[], None]:
    return lambda: sink.run(stop)
