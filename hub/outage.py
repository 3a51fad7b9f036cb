"""A lost broker: one clear line, retries with backoff, never a traceback.

When the broker goes away, librdkafka reconnects by itself, but everything waiting on it
fails in its own way: a synchronous commit raises ``KafkaException(_WAIT_COORD)`` after
about 6 s, a flush leaves records undelivered, ``consume`` simply returns nothing, and
librdkafka prints a ``FAIL`` line for every reconnection attempt. This module turns all of
that into:

- one ERROR line per broker when it is first lost (which broker, since when, what failed,
  that the service keeps retrying), and one WARNING line when it answers again;
- :func:`supervise`: run a service attempt; when it fails because the broker is lost, close
  what it built (bounded), wait with exponential backoff until the broker accepts a
  connection again, and run a fresh attempt, which resumes from the committed offsets.
  A stop request ends the waiting at once.

Client configurations (``hub.broker.client_config``) route librdkafka's own log lines and
error callbacks here (:func:`kafka_logger`, :func:`error_callback`), so a dead broker does
not flood stderr with reconnection noise.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from hub.errors import BrokerError, BrokerUnavailable, RegistryUnavailable, Terminal

log = logging.getLogger("hub.outage")
kafka_log = logging.getLogger("hub.kafka")

T = TypeVar("T")

# librdkafka errors that mean "the broker (or its group coordinator) is not there now".
LOSS_CODES = frozenset(
    {
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TRANSPORT,
        KafkaError._RESOLVE,
        KafkaError._TIMED_OUT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError._WAIT_COORD,
        KafkaError._NO_OFFSET,  # nothing stored to commit: seen only after a lost assignment
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
        KafkaError.UNKNOWN_MEMBER_ID,  # the group forgot us (a restarted embedded broker)
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError._STATE,  # a client whose group state was reset under it
    }
)


class ClientFailed(BrokerError, Terminal):
    """A Kafka client hit a fatal error (e.g. an idempotent producer whose broker forgot its
    producer id: the embedded broker restarted empty). Retrying with the same client cannot
    help; the service exits so its manager restarts it with fresh clients."""


_fatal: list[str] = []  # fatal client errors seen by error callbacks, newest last


_CONNECTION_CODES = frozenset(
    {KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE}
)


def _kafka_error(exc: BaseException) -> KafkaError | None:
    """The librdkafka error a ``KafkaException`` carries, if it is one."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def broker_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the broker is (for now) unreachable, not that the hub is wrong."""
    if isinstance(exc, BrokerUnavailable):
        return True
    err = _kafka_error(exc)
    return err is not None and (err.code() in LOSS_CODES or (err.retriable() and not err.fatal()))


def failure_line(exc: BaseException) -> str | None:
    """The one line that ends a service for a broker or client failure; None for anything
    else (a bug keeps its traceback)."""
    if broker_lost(exc):
        return f"broker unreachable: {_reason(exc)}"
    if _kafka_error(exc) is not None:
        return f"Kafka client failed: {_reason(exc)}; restart the service"
    return None


def _reason(exc: BaseException) -> str:
    err = _kafka_error(exc)
    if err is not None:
        return str(err.str())
    return str(exc) or type(exc).__name__


@dataclass
class Backoff:
    """Exponential waits with jitter: 0.5 s, 1 s, 2 s ... up to ``maximum``."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    _next: float = field(default=0.0, init=False)

    def next(self, rng: random.Random | None = None) -> float:
        base = self._next or self.initial
        self._next = min(self.maximum, base * self.factor)
        spread = base * self.jitter
        return max(0.0, min(self.maximum, base + (rng or random).uniform(-spread, spread)))

    def reset(self) -> None:
        self._next = 0.0


def _addresses(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        host = host.split("://")[-1].strip("[]")
        if host and port.isdigit():
            out.append((host, int(port)))
    return out


def reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    """Whether any bootstrap address accepts a TCP connection (cheap; no Kafka client)."""
    addresses = _addresses(bootstrap)
    for host, port in addresses:
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=timeout).close()
            return True
    return not addresses  # nothing to probe: no evidence either way


class Outage:
    """What this process knows of one broker: since when it has been unreachable."""

    # A loss reported within this long after the broker came back is the same outage (a
    # client still failing while the broker recovers), not a new line.
    SETTLE = 60.0

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.since: float | None = None  # monotonic
        self.back_at: float | None = None
        self.seen = False  # a failed connection, not only failed operations, says it is gone
        self.since_wall: datetime | None = None
        self.lines = 0  # ERROR lines written: one per outage
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None

    def lost(self, reason: str, service: str | None = None, *, seen: bool = False) -> None:
        """Note the broker as lost; the first report of an outage writes the one line.
        ``seen``: the connection itself failed (not merely an operation that timed out)."""
        service = service or _service_name()
        with self._lock:
            self.seen = self.seen or seen
            settling = self.back_at is not None and time.monotonic() - self.back_at < self.SETTLE
            if self.since is not None or settling:
                log.debug("%s: broker %s still unreachable: %s", service, self.bootstrap, reason)
                return
            self.since, self.since_wall = time.monotonic(), datetime.now(UTC)
            self.lines += 1
            if self._prober is None or not self._prober.is_alive():
                # librdkafka reconnects by itself: this only notices when, for the log.
                self._prober = threading.Thread(
                    target=self._probe, args=(service,), name="hub-broker-probe", daemon=True
                )
                self._prober.start()
        log.error(
            "%s: broker %s unreachable since %s (%s); retrying with backoff up to %.0f s "
            "apart until it answers; SIGTERM stops the service",
            service,
            self.bootstrap,
            self.since_wall.strftime("%H:%M:%S UTC"),
            reason,
            Backoff.maximum,
        )

    def back(self, service: str | None = None) -> None:
        """The broker answers again: one line saying for how long it was away."""
        service = service or _service_name()
        with self._lock:
            since, self.since = self.since, None
            self.seen = False
            if since is not None and self.lines:
                self.back_at = time.monotonic()
        if since is not None:
            log.warning(
                "%s: broker %s reachable again after %.0f s",
                service,
                self.bootstrap,
                time.monotonic() - since,
            )

    def _probe(self, service: str | None) -> None:
        backoff = Backoff()
        while self.since is not None:
            time.sleep(backoff.next())
            if reachable(self.bootstrap):
                self.back(service)
                return

    @property
    def down(self) -> bool:
        return self.since is not None


_named: list[str] = []  # a process's service name where hub.lifecycle is not installed


def name_service(name: str) -> None:
    """Name this process's service in outage lines (the faust worker, which keeps its own
    signal handling and so has no hub.lifecycle)."""
    _named[:] = [name]


def _service_name() -> str:
    from hub.lifecycle import current

    shutdown = current()
    if shutdown is not None:
        return shutdown.name
    return _named[0] if _named else "hub"


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(bootstrap: str) -> Outage:
    """The process-wide record for one broker (every client of it shares it)."""
    with _outages_lock:
        found = _outages.get(bootstrap)
        if found is None:
            found = _outages[bootstrap] = Outage(bootstrap)
        return found


def watch(bootstrap: str, interval: float = 3.0) -> threading.Thread:
    """Probe ``bootstrap`` every ``interval`` seconds on a daemon thread, so the outage line
    is written when the broker goes, even while the service's thread is held in a commit
    or flush (librdkafka's error callback runs only when the service polls)."""
    outage = outage_for(bootstrap)

    def run() -> None:
        while True:
            time.sleep(interval)
            if reachable(bootstrap, timeout=min(2.0, interval)):
                outage.back()
            else:
                outage.lost("no bootstrap address accepts a connection", seen=True)

    thread = threading.Thread(target=run, name="hub-broker-watch", daemon=True)
    thread.start()
    return thread


def error_callback(bootstrap: str) -> Callable[[KafkaError], None]:
    """An ``error_cb`` for a client of ``bootstrap``: broker loss becomes the one line."""
    outage = outage_for(bootstrap)

    def on_error(err: KafkaError) -> None:
        if err.code() in LOSS_CODES:
            outage.lost(str(err.str()), seen=err.code() in _CONNECTION_CODES)
        elif err.fatal():
            _fatal.append(f"{err.name()}: {err.str()}")
            log.error("kafka client of %s: fatal error: %s", bootstrap, err.str())
        else:
            kafka_log.info("kafka client of %s: %s", bootstrap, err.str())

    return on_error


class KafkaLogger:
    """librdkafka's log lines (``logger`` client setting) at INFO/DEBUG under ``hub.kafka``:
    visible with ``hub -v``, silent otherwise. A reconnection ``FAIL`` per second is noise
    next to the one outage line."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        kafka_log.log(logging.INFO if level >= logging.WARNING else logging.DEBUG, fmt, *args)


def kafka_logger() -> KafkaLogger:
    return KafkaLogger()


def close_within(close: Callable[[], object], seconds: float, what: str = "client") -> bool:
    """Call ``close`` on a daemon thread and wait at most ``seconds``: closing clients of a
    dead broker can wait for it; a service retrying must not. False when abandoned."""
    done = threading.Event()

    def run() -> None:
        try:
            close()
        except Exception as exc:  # closing after a failure: what it says is moot
            log.debug("closing %s: %s", what, _reason(exc))
        finally:
            done.set()

    threading.Thread(target=run, name=f"close-{what}", daemon=True).start()
    if not done.wait(seconds):
        log.debug("closing %s took over %.0f s: left to finish in the background", what, seconds)
        return False
    return True


def supervise(
    service: str,
    bootstrap: str,
    stop: threading.Event,
    attempt: Callable[[], T],
    *,
    backoff: Backoff | None = None,
    probe: Callable[[str], bool] = reachable,
) -> T | None:
    """``attempt()`` until it returns; after a broker loss, wait and attempt again.

    ``attempt`` builds the service's clients, runs its loop until ``stop`` and closes them
    (use :func:`close_within` after a failure). Returns its result, or None when ``stop``
    was set while waiting for the broker. Errors other than broker loss propagate."""
    outage = outage_for(bootstrap)
    backoff = backoff or Backoff()
    while True:
        try:
            result = attempt()
        except Exception as exc:
            if not broker_lost(exc):
                raise
            outage.lost(_reason(exc), service)
        else:
            return result
        while True:
            if stop.wait(backoff.next()):
                return None
            if probe(bootstrap):
                break
        outage.back(service)
        backoff.reset()


def note_loss(service: str, exc: BaseException, bootstrap: str | None = None) -> None:
    """Report a broker loss found by an exception. librdkafka's error callback has usually
    written the outage's line already (it hears of the lost connection first); then this
    adds nothing but a debug line."""
    with _outages_lock:
        known = list(_outages.values())
    if bootstrap is None:
        down = [o for o in known if o.down]
        if down:
            log.debug("%s: %s (broker %s)", service, _reason(exc), down[0].bootstrap)
            return
        bootstrap = known[0].bootstrap if len(known) == 1 else "the broker"
    outage_for(bootstrap).lost(_reason(exc), service)


def rewind(consumer: Any, records: list[Any]) -> None:
    """Seek each partition of a failed batch back to its first record, so the next poll
    hands the same records over again (nothing of the batch was committed). A partition
    the consumer lost meanwhile is skipped: its new owner starts from the committed offset."""
    from confluent_kafka import TopicPartition

    first: dict[tuple[str, int], int] = {}
    for msg in records:
        key = (msg.topic(), msg.partition())
        if key not in first or msg.offset() < first[key]:
            first[key] = msg.offset()
    for (topic, partition), offset in first.items():
        try:
            consumer.seek(TopicPartition(topic, partition, offset))
        except (KafkaException, RuntimeError) as exc:
            with contextlib.suppress(KafkaException, RuntimeError):
                owned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
                if (topic, partition) not in owned:
                    continue  # revoked: its next owner starts from the committed offset
            # Still ours but not rewound: polling on would hand over later records and a
            # later commit would pass over this batch. A fresh start reads it again.
            raise ClientFailed(
                f"could not rewind {topic}[{partition}] to offset {offset} ({exc}); "
                "exiting so the service manager restarts it from the committed offsets"
            ) from exc


class LossRetry:
    """A batch loop's answer to a lost broker: rewind, wait with backoff, poll again.

    In the loop::

        try:
            done = handle(batch)
        except Exception as exc:
            if not retry.recover(consumer, batch, exc, stop):
                raise
            continue
        retry.succeeded()

    Polling again (rather than retrying the commit in place) lets librdkafka serve the
    group's rebalance when the broker comes back having forgotten the group."""

    # Failures in a row while the broker answers before the client is declared wedged.
    WEDGED = 3

    def __init__(self, service: str, backoff: Backoff | None = None) -> None:
        self.service = service
        self.backoff = backoff or Backoff()
        self.failures = 0  # in a row, with the broker answering
        self.busy = False  # the audit store was busy at the last attempt
        self.registry_away = False  # the schema registry did not answer at the last attempt

    def recover(
        self, consumer: Any, records: list[Any], exc: BaseException, stop: threading.Event
    ) -> bool:
        """False when ``exc`` is not a broker loss (the caller re-raises it)."""
        from hub.audit.sqlite import store_busy

        if store_busy(exc):
            # Another writer holds the audit store past its busy timeout: same batch again.
            if not self.busy:
                log.error("%s: the audit store is busy (%s); retrying", self.service, exc)
            self.busy = True
            rewind(consumer, records)
            stop.wait(self.backoff.next())
            return True
        if isinstance(exc, RegistryUnavailable):
            # The registry is away (a schema not yet cached, an output schema to register):
            # the same batch again once it answers, in place, as for a lost broker. Only the
            # registry calls raise this (hub/translate.py); a record's bad bytes never do.
            if not self.registry_away:
                log.error(
                    "%s: the schema registry is unavailable (%s); the batch is retried with "
                    "backoff and nothing past it is committed",
                    self.service,
                    exc,
                )
            self.registry_away = True
            rewind(consumer, records)
            stop.wait(self.backoff.next())
            return True
        if not broker_lost(exc):
            return False
        with _outages_lock:
            known = [o.bootstrap for o in _outages.values()]
        # Asked directly, not from the outage's state: a wedged client keeps reporting
        # "all brokers down" to its error callback while the broker answers.
        answering = any(reachable(b, timeout=1.0) for b in known) if known else True
        self.failures = self.failures + 1 if answering else 0
        if _fatal or self.failures >= self.WEDGED:
            # The broker answers, yet this client still cannot deliver or commit: e.g. an
            # idempotent producer the restarted (empty) embedded broker no longer knows.
            why = _fatal[-1] if _fatal else f"{self.failures} failures: {_reason(exc)}"
            failed = ClientFailed(
                f"{self.service}: a Kafka client cannot recover ({why}); exiting so the "
                "service manager restarts it with fresh clients (nothing uncommitted is "
                "lost: it is redelivered)"
            )
            log.error("%s", failed)
            # Closing a wedged client can hang: the grace period bounds the way out.
            from hub.lifecycle import current

            shutdown = current()
            if shutdown is not None:
                shutdown.fail(str(failed))
            raise failed from exc
        note_loss(self.service, exc)
        rewind(consumer, records)
        stop.wait(self.backoff.next())
        return True

    def succeeded(self) -> None:
        if self.registry_away:
            log.warning("%s: the schema registry answers again; going on", self.service)
        self.backoff.reset()
        self.failures = 0
        self.busy = False
        self.registry_away = False


def async_client_loss(exc: BaseException) -> bool:
    """aiokafka's (faust's client) way of saying the broker is away: a retriable
    ``aiokafka.errors.KafkaError`` or a refused/reset connection."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    try:
        from aiokafka.errors import (  # type: ignore[import-untyped]
            KafkaError as AioKafkaError,
        )
    except ImportError:  # pragma: no cover - analytics extra not installed
        return False
    return isinstance(exc, AioKafkaError) and bool(getattr(exc, "retriable", False))


class AsyncClientNoise(logging.Filter):
    """For the faust analytics worker: a record carrying a broker-loss exception becomes the
    outage's one line, and aiokafka's own warnings go to ``hub.kafka`` at INFO (shown with
    ``hub -v``); aiokafka itself reconnects. Decided by exception type and logger, never by
    message text."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__()
        self.outage = outage_for(bootstrap)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and async_client_loss(exc):
            self.outage.lost(f"{type(exc).__name__}: {exc}")
            return False
        if record.name.split(".")[0] == "aiokafka" and record.levelno >= logging.WARNING:
            kafka_log.info("%s: %s", record.name, record.getMessage())
            return False
        return True


def quiet_async_clients(bootstrap: str) -> None:
    """Install :class:`AsyncClientNoise` on every handler of the root logger (handler
    filters see the records of every logger below it)."""
    noise = AsyncClientNoise(bootstrap)
    for handler in logging.getLogger().handlers:
        if noise not in handler.filters:
            handler.addFilter(noise)
