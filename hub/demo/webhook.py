"""The web hook partners of the synthetic partnership: one receiver, each partner with its
own token and signing key, and their case systems calling it, all at once (issue 17: one
call at a time, each waiting for the broker's acknowledgement of the last, was the demo's
longest wait)."""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from connectors.base.config import SigningConfig, WebhookPartner
from connectors.base.config import WebhookSourceConfig as WebhookConfig
from connectors.base.health import ConnectorMetrics
from connectors.base.rejects import RejectLog
from connectors.base.source import SourceContext
from connectors.sources.webhook import WebhookReceiver, WebhookSource, token_digest
from connectors.synthetic.exports import event_json
from connectors.synthetic.generator import SyntheticEvent
from hub.catalogue.schemas import Catalogue
from hub.config import Settings

WEBHOOK_PARTNERS = ("merseyside-fire", "probation-nw", "nhs-cm", "yjs-liverpool")
IN_FLIGHT = 4  # web hook calls each partner's system has under way at once


def post_all(
    url: str,
    posts: list[SyntheticEvent],
    tokens: dict[str, str],
    catalogue: Catalogue,
    stop: threading.Event,
    bad_input: bool,
    pool: ThreadPoolExecutor,
) -> Counter[str]:
    """The web hook partners' case systems calling the receiver, one event per call, the
    partners at the same time (as in life). One call at a time, each waited for the
    broker's acknowledgement of the one before: the demo's longest wait (issue 17)."""

    def body(e: SyntheticEvent) -> dict[str, Any]:
        et = catalogue.get(e.event_type)
        assert et is not None
        data: dict[str, Any] = json.loads(event_json(et, e.event))
        return data

    calls_by_partner: dict[str, list[tuple[SyntheticEvent, str, dict[str, Any], str]]] = {}
    for i, e in enumerate(posts):
        calls_by_partner.setdefault(e.partner, []).append(
            (e, tokens[e.partner], body(e), f"demo-{i}")
        )
    if bad_input and posts:
        # A stale token, then an event with a field the schema does not have.
        good = body(posts[0])
        mine = calls_by_partner[posts[0].partner]
        mine.append((posts[0], "not-a-real-token", good, "demo-bad-token"))
        wrong = dict(good, not_in_schema=True)
        mine.append((posts[0], tokens[posts[0].partner], wrong, "demo-bad-body"))

    def call_all(client: httpx.Client, calls: list[Any]) -> Counter[str]:
        answered: Counter[str] = Counter()
        for e, token, data, request_id in calls:
            if stop.is_set():
                break
            r = client.post(
                f"/v1/events/{e.event_type}",
                content=json.dumps(data),
                headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id},
            )
            answered[str(r.status_code)] += 1
        return answered

    total: Counter[str] = Counter()
    # Each system keeps a few calls in flight (the receiver answers them with one broker
    # acknowledgement: connectors/sources/webhook.py GroupCommit). Distinct events, so
    # their order does not matter; a correction names its revision.
    lanes = [c[i::IN_FLIGHT] for c in calls_by_partner.values() for i in range(IN_FLIGHT)]
    limits = httpx.Limits(max_connections=len(lanes) + 1)
    with httpx.Client(base_url=url, timeout=30, limits=limits) as client:
        running = [pool.submit(call_all, client, lane) for lane in lanes if lane]
        for done in running:
            total.update(done.result())
    return total


def receiver(
    by_partner: dict[str, list[SyntheticEvent]],
    settings: Settings,
    context: Callable[[str, str], SourceContext],
    rejects: RejectLog,
) -> tuple[WebhookSource, dict[str, str]]:
    """One receiver for the web hook partners, each with its own token and signing key."""
    digest_key = secrets.token_bytes(32)
    tokens = {p: secrets.token_urlsafe(24) for p in WEBHOOK_PARTNERS}
    config = WebhookConfig(
        kind="webhook",
        port=0,
        digest_key_env="NOT_USED_IN_PROCESS",  # the key is handed over directly below
        partners={
            p: WebhookPartner(
                token_digest=token_digest(digest_key, tokens[p]),
                signing=SigningConfig(
                    key_id=f"{p}/dev1", dev_keys_dir=settings.data_dir / "partner-keys"
                ),
                event_types=sorted({e.event_type for e in by_partner.get(p, [])})
                or ["safeguarding-concern"],
            )
            for p in WEBHOOK_PARTNERS
        },
    )
    receiver = WebhookReceiver(
        config,
        name="webhook",
        digest_key=digest_key,
        contexts={p: context(p, "webhook") for p in WEBHOOK_PARTNERS},
        rejects=rejects,
        metrics=ConnectorMetrics("webhook"),
    )
    return WebhookSource(receiver, "127.0.0.1", 0).start(), tokens
