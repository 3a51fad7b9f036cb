"""An HTTP web hook receiver: partner case systems POST events, the receiver publishes them.

``POST /v1/events/<event type>`` with ``Authorization: Bearer <token>`` and the event in
the catalogue's JSON shape (as in ``docs/partners/catalogue.md``; dates ``YYYY-MM-DD``,
timestamps ISO 8601). ``X-Request-Id`` is echoed (one is made up when absent) and names the
request in every reject entry.

Authentication is per partner: the token's HMAC-SHA256 under a receiver key (from the
environment) is compared, in constant time, with each partner's stored digest. Tokens are
never stored, only their keyed digests, so a leaked configuration file reveals nothing
usable and a low-entropy token cannot be brute-forced without the key. The authenticated
partner is the only one the event may claim to come from, and it is signed with that
partner's key before it is published.

Answers: ``202 {"event_id", "request_id"}`` once the broker acknowledged the event;
``400`` body is not JSON; ``401`` missing or bad token; ``403`` event type not allowed for
this partner or the event claims another partner; ``404`` unknown event type; ``413`` body
too large; ``422`` the event does not match the schema (``code``, ``field`` and ``reason``
say what to fix); ``503`` the hub is unavailable, retry later (``Retry-After``).

Corrections and retractions (issue 18, docs/partners/corrections.md):
``PUT /v1/events/<event type>/<event id>`` sends a revision: the whole corrected event, whose
``envelope.revision`` must be above 1 (the path's id is the event's id). ``DELETE
/v1/events/<event type>/<event id>`` with ``{"reason": "WRONG_PERSON", "reason_text": ...}``
publishes an ``event-retraction`` of it; its id is derived from the partner, the event and
the reason, so a retried DELETE is the same retraction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from opentelemetry import context as otel_context
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from connectors.base.config import WebhookSourceConfig as WebhookConfig
from connectors.base.config import require_env
from connectors.base.errors import (
    ConnectorConfigError,
    MalformedInput,
    RecordRejected,
    Unauthorised,
)
from connectors.base.health import ConnectorMetrics
from connectors.base.mapping import coerce_event
from connectors.base.plugins import BuildContext, register_source
from connectors.base.rejects import RejectLog
from connectors.base.retraction import RETRACTION, retraction_of
from connectors.base.source import SourceContext
from hub.errors import BrokerUnavailable, Retryable
from hub.telemetry.tracing import extract_context

log = logging.getLogger(__name__)


class GroupCommit:
    """Each request is answered once the broker acknowledged its event, and concurrent
    requests share one acknowledgement: a request waits for a flush that began after its
    event was queued, starting one when none is under way. Calls that each ran their own
    flush waited in line, one broker round trip each (issue 17: the demo's web hook stood
    idle most of the time).

    A flush that fails fails every request it covered (each answers 503), never only the
    one that ran it."""

    def __init__(self, flush: Callable[[], object]) -> None:
        self._flush = flush
        self._cv = threading.Condition()
        self._queued = 0  # tickets handed out: events queued on the producer
        self._durable = 0  # every ticket up to here is acknowledged
        self._failed: list[tuple[int, int, BaseException]] = []  # (after, upto, error)
        self._flushing = False

    def queued(self) -> int:
        """A ticket for an event just queued (call after the producer took it)."""
        with self._cv:
            self._queued += 1
            return self._queued

    def wait(self, ticket: int) -> None:
        """Return once ``ticket``'s event is acknowledged; raise the flush's error if the
        flush that covered it failed."""
        with self._cv:
            while True:
                for after, upto, error in self._failed:
                    if after < ticket <= upto:
                        raise error
                if self._durable >= ticket:
                    return
                if self._flushing:
                    self._cv.wait()
                    continue
                self._flush_now()

    def _flush_now(self) -> None:
        """Flush what is queued, without holding the lock meanwhile (called holding it)."""
        self._flushing, start, upto = True, self._durable, self._queued
        self._cv.release()
        failure: BaseException | None = None
        try:
            self._flush()
        except BaseException as exc:  # every request it covered answers with it
            failure = exc
        finally:
            self._cv.acquire()
            self._flushing = False
            if failure is not None:
                self._failed.append((start, upto, failure))
                del self._failed[:-100]  # the receiver is broken by now: bounded all the same
            self._durable = max(self._durable, upto)
            self._cv.notify_all()


def token_digest(key: bytes, token: str) -> str:
    """The stored form of a partner's token: HMAC-SHA256 under the receiver's key, hex."""
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


class WebhookReceiver:
    """The FastAPI app and its publishing contexts, one per partner (each signs its own)."""

    def __init__(
        self,
        config: WebhookConfig,
        *,
        name: str,
        digest_key: bytes,
        contexts: Mapping[str, SourceContext],
        rejects: RejectLog,
        metrics: ConnectorMetrics,
    ) -> None:
        if len(digest_key) < 16:
            raise ConnectorConfigError("the web hook digest key must be at least 16 bytes")
        self.name = name
        self.config = config
        self._key = digest_key
        self.contexts = dict(contexts)
        self._commits = {p: GroupCommit(ctx.flush) for p, ctx in self.contexts.items()}
        self.rejects = rejects
        self.metrics = metrics
        self.accepted = 0
        # Set when the broker stayed unavailable beyond the retry policy: the receiver then
        # exits so the service manager restarts it with fresh clients (see WebhookSource.run).
        self.broken: str | None = None
        for partner, p in config.partners.items():
            if p.signing.key_id.split("/", 1)[0] != partner:
                raise ConnectorConfigError(
                    f"partners.{partner}.signing.key_id is another partner's"
                )
            for slug in p.event_types:
                self.contexts[partner].event_type(slug)
        self.app = self._build()

    def authenticate(self, authorization: str | None) -> str:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorised("missing 'Authorization: Bearer <token>' header")
        digest = token_digest(self._key, authorization.removeprefix("Bearer ").strip())
        found: str | None = None
        # Compare against every partner (no early exit) so timing says nothing about which.
        for partner, p in self.config.partners.items():
            if hmac.compare_digest(digest, p.token_digest.lower()) and found is None:
                found = partner
        if found is None:
            raise Unauthorised("token not recognised")
        return found

    def _reject(
        self, status: int, request_id: str, error: RecordRejected, partner: str | None = None
    ) -> JSONResponse:
        where = {"request_id": request_id, "partner": partner, "status": status}
        if partner is not None and partner in self.contexts:
            self.contexts[partner].reject(where | {"field": error.field}, error)
        else:
            self.rejects.write(where=where, code=error.code, reason=str(error))
            self.metrics.rejected.labels(self.name, error.code).inc()
        body = {"request_id": request_id, "code": error.code, "reason": str(error)}
        if error.field:
            body["field"] = error.field
        return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id})

    def _build(self) -> FastAPI:
        app = FastAPI(title="partner-data-hub web hook receiver", docs_url=None, redoc_url=None)

        @app.post("/v1/events/{event_type}")
        async def receive(event_type: str, request: Request) -> Response:
            body = await request.body()
            # Publishing waits for the broker: off the event loop, in the thread pool.
            return await run_in_threadpool(self.handle, event_type, request.headers, body)

        @app.put("/v1/events/{event_type}/{event_id}")
        async def revise(event_type: str, event_id: str, request: Request) -> Response:
            body = await request.body()
            return await run_in_threadpool(
                self.handle, event_type, request.headers, body, event_id, "revise"
            )

        @app.delete("/v1/events/{event_type}/{event_id}")
        async def retract(event_type: str, event_id: str, request: Request) -> Response:
            body = await request.body()
            return await run_in_threadpool(
                self.handle, event_type, request.headers, body, event_id, "retract"
            )

        @app.get("/healthz")
        def healthz() -> Response:
            ok, info = self.metrics.health(stale_after=float("inf"))
            return JSONResponse(info, status_code=200 if ok else 503)

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

        return app

    def handle(
        self,
        event_type: str,
        headers: Mapping[str, str],
        body: bytes,
        event_id: str | None = None,
        action: str = "publish",
    ) -> Response:
        request_id = headers.get("x-request-id") or str(uuid.uuid4())
        request_id = request_id[:100]
        try:
            partner = self.authenticate(headers.get("authorization"))
        except Unauthorised as exc:
            return self._reject(401, request_id, exc)
        allowed = self.config.partners[partner].event_types
        ctx = self.contexts[partner]
        if ctx.catalogue.get(event_type) is None:
            return self._reject(
                404, request_id, RecordRejected(f"unknown event type '{event_type}'"), partner
            )
        if event_type not in allowed:
            err = RecordRejected(f"{partner} may not send {event_type} to this receiver")
            return self._reject(403, request_id, err, partner)
        if len(body) > self.config.max_body_bytes:
            err = MalformedInput(f"body over {self.config.max_body_bytes} bytes; send one event")
            return self._reject(413, request_id, err, partner)
        ctx.read()
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
            return self._reject(
                400, request_id, MalformedInput(f"body is not JSON: {msg}"), partner
            )
        if not isinstance(data, dict):
            return self._reject(
                400, request_id, MalformedInput("body must be one JSON object"), partner
            )
        try:
            if action == "retract":
                data = retraction_of(
                    partner, str(event_id), data.get("reason"), data.get("reason_text")
                )
                event_type = RETRACTION
            elif action == "revise":
                _check_revision(data, str(event_id))
            event = coerce_event(ctx.event_type(event_type), data, partner)
        except RecordRejected as exc:
            status = 403 if exc.field == "envelope.source_partner" else 422
            return self._reject(status, request_id, exc, partner)
        return self._publish(ctx, partner, request_id, event_type, event, headers)

    def _publish(
        self,
        ctx: SourceContext,
        partner: str,
        request_id: str,
        event_type: str,
        event: dict[str, Any],
        headers: Mapping[str, str],
    ) -> Response:
        """Publish the accepted event and answer 202, or why not."""
        # A partner system that traces sends its W3C context: the event continues its trace.
        token = otel_context.attach(extract_context({k: v.encode() for k, v in headers.items()}))
        try:
            event_id = ctx.publish(event_type, event)
            self._commits[partner].wait(self._commits[partner].queued())
        except RecordRejected as exc:
            return self._reject(422, request_id, exc, partner)
        except Retryable as exc:
            log.warning("%s: hub unavailable for request %s", self.name, request_id)
            self.broken = type(exc).__name__
            return JSONResponse(
                {"request_id": request_id, "code": "unavailable", "reason": "hub unavailable"},
                status_code=503,
                headers={"Retry-After": "30", "X-Request-Id": request_id},
            )
        finally:
            otel_context.detach(token)
        self.accepted += 1
        return JSONResponse(
            {"event_id": event_id, "request_id": request_id, "status": "accepted"},
            status_code=202,
            headers={"X-Request-Id": request_id},
        )


def _check_revision(data: dict[str, object], event_id: str) -> None:
    envelope = data.get("envelope")
    if not isinstance(envelope, dict):
        raise RecordRejected("a revision needs its envelope", field="envelope")
    if str(envelope.get("event_id", event_id)) != event_id:
        raise RecordRejected(
            f"envelope.event_id {envelope.get('event_id')!r} is not the event in the path "
            f"({event_id})",
            field="envelope.event_id",
        )
    revision = envelope.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 2:
        raise RecordRejected(
            "a PUT is a correction: envelope.revision must be 2 or more (one higher than the "
            "last revision sent); POST the original",
            field="envelope.revision",
        )
    envelope["event_id"] = event_id


class WebhookSource:
    """Serves a :class:`WebhookReceiver` with uvicorn until ``stop`` is set."""

    def __init__(self, receiver: WebhookReceiver, host: str, port: int) -> None:
        self.name = receiver.name
        self.receiver = receiver
        self._host = host
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def start(self) -> WebhookSource:
        config = uvicorn.Config(
            self.receiver.app,
            log_level="warning",
            log_config=None,
            access_log=False,  # request lines could carry identifiers in paths: not logged
            lifespan="off",
            # The default threadpool is ample; several partners post concurrently.
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"webhook-{self.name}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConnectorConfigError(f"web hook receiver did not start on {self.url}")
            time.sleep(0.02)
        self.receiver.metrics.state = "running"
        return self

    def run(self, stop: threading.Event) -> None:
        self.start()
        while not stop.wait(0.5):
            self.receiver.metrics.progress()
            if self._thread is not None and not self._thread.is_alive():
                raise ConnectorConfigError("the web hook server stopped unexpectedly")
            if self.receiver.broken is not None:
                raise BrokerUnavailable(
                    f"{self.name}: the hub stayed unavailable ({self.receiver.broken}); "
                    "exiting so the service restarts with fresh connections"
                )

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._sock.close()

    def close(self) -> None:
        self.stop()
        for ctx in self.receiver.contexts.values():
            ctx.close()


@register_source("webhook")
def _build(config: WebhookConfig, build: BuildContext) -> WebhookSource:
    """One receiver; each partner publishes with its own key and state folder."""
    contexts = {
        partner: build.source_context(partner, p.signing, build.config.state_dir / partner)
        for partner, p in config.partners.items()
    }
    key = require_env(build.env, config.digest_key_env).get_secret_value().encode()
    receiver = WebhookReceiver(
        config,
        name=build.config.name,
        digest_key=key,
        contexts=contexts,
        rejects=build.rejects,
        metrics=build.metrics,
    )
    return WebhookSource(receiver, config.host, config.port)
