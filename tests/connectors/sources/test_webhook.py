"""The web hook receiver on the real broker and registry: authenticated per partner,
validated against the schema, answered with the event id or a clear 4xx, published signed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base.config import parse_config
from connectors.base.rejects import RejectLog
from connectors.base.runtime import build
from connectors.sources.webhook import WebhookSource, token_digest
from connectors.synthetic.samples import sample_events
from hub.broker import EmbeddedBroker, ensure_topics
from hub.broker.records import headers_bytes
from hub.catalogue import Catalogue, partner_topic
from hub.catalogue.json_codec import event_to_json
from hub.identity import PartnerKeyStore, verify
from tests.connectors.conftest import read_topic

pytestmark = pytest.mark.integration
KEY = "k" * 40
TOKENS = {"merseyside-fire": "fire-token-0123456789", "probation-nw": "probation-token-987654321"}


@pytest.fixture
def receiver(
    broker: EmbeddedBroker, registry_url: str, tmp_path: Path
) -> tuple[WebhookSource, dict[str, Any]]:
    ensure_topics(
        broker.bootstrap,
        [
            partner_topic("merseyside-fire", "safe-and-well-referral"),
            partner_topic("probation-nw", "probation-update"),
        ],
    )
    keys = str(tmp_path / "keys")
    data = {
        "name": "webhook",
        "state_dir": str(tmp_path / "state"),
        "source": {
            "type": "webhook",
            "port": 0,
            "digest_key_env": "WEBHOOK_DIGEST_KEY",
            "partners": {
                "merseyside-fire": {
                    "token_digest": token_digest(KEY.encode(), TOKENS["merseyside-fire"]),
                    "signing": {"key_id": "merseyside-fire/dev1", "dev_keys_dir": keys},
                    "event_types": ["safe-and-well-referral"],
                },
                "probation-nw": {
                    "token_digest": token_digest(KEY.encode(), TOKENS["probation-nw"]),
                    "signing": {"key_id": "probation-nw/dev1", "dev_keys_dir": keys},
                    "event_types": ["probation-update"],
                },
            },
        },
    }
    env = {
        "WEBHOOK_DIGEST_KEY": KEY,
        "HUB_BOOTSTRAP_SERVERS": broker.bootstrap,
        "HUB_SCHEMA_REGISTRY_URL": registry_url,
    }
    config = parse_config(data)
    assert TOKENS["merseyside-fire"] not in json.dumps(data)  # only digests are stored
    hook = build(config, env)
    assert isinstance(hook, WebhookSource)
    hook.start()
    yield hook, {"keys": keys, "state": tmp_path / "state"}
    hook.close()


def _event(catalogue: Catalogue, slug: str, partner: str, seed: int) -> dict[str, Any]:
    et = catalogue.get(slug)
    assert et is not None
    data = event_to_json(et, sample_events(et, partner, 1, seed=seed)[0])
    return json.loads(json.dumps(data, default=str))


def test_accepts_valid_events_and_refuses_bad_ones_clearly(
    receiver: tuple[WebhookSource, dict[str, Any]], broker: EmbeddedBroker, catalogue: Catalogue
) -> None:
    hook, info = receiver
    fire = {"Authorization": f"Bearer {TOKENS['merseyside-fire']}"}
    probation = {"Authorization": f"Bearer {TOKENS['probation-nw']}"}
    swr, pu = "safe-and-well-referral", "probation-update"
    accepted: dict[str, str] = {}
    with httpx.Client(base_url=hook.url) as client:

        def post(slug: str, body: Any, headers: dict[str, str], rid: str) -> httpx.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return client.post(
                f"/v1/events/{slug}", content=content, headers=headers | {"X-Request-Id": rid}
            )

        for i in range(5):
            r = post(swr, _event(catalogue, swr, "merseyside-fire", i), fire, f"ok-fire-{i}")
            assert r.status_code == 202, r.text
            accepted[r.json()["event_id"]] = "merseyside-fire"
            assert r.json()["request_id"] == f"ok-fire-{i}"
        r = post(pu, _event(catalogue, pu, "probation-nw", 101), probation, "ok-probation")
        assert r.status_code == 202
        accepted[r.json()["event_id"]] = "probation-nw"

        good = _event(catalogue, swr, "merseyside-fire", 9)
        wrong_type = dict(good, risk_score="very high")
        spoof = dict(good, envelope=dict(good["envelope"], source_partner="probation-nw"))
        cases = [
            (
                post(swr, good, {"Authorization": "Bearer guessed"}, "bad-token"),
                401,
                "unauthorised",
            ),
            (post(swr, good, {}, "no-token"), 401, "unauthorised"),
            (post(swr, b"{not json", fire, "not-json"), 400, "malformed"),
            (post(swr, wrong_type, fire, "wrong-type"), 422, "wrong-type"),
            (post(swr, spoof, fire, "spoof"), 403, "schema-invalid"),
            (
                post(pu, _event(catalogue, pu, "probation-nw", 2), fire, "not-allowed"),
                403,
                "rejected",
            ),
            (post("no-such-type", good, fire, "unknown-type"), 404, "rejected"),
        ]
        for response, status, code in cases:
            assert response.status_code == status, (
                response.request.headers["x-request-id"],
                response.text,
            )
            body = response.json()
            assert body["code"] == code and body["reason"]
        assert cases[3][0].json()["field"] == "risk_score"
        # A bad call does not stop the receiver.
        r = post(swr, good, fire, "after")
        assert r.status_code == 202
        accepted[r.json()["event_id"]] = "merseyside-fire"

    rejects = RejectLog(info["state"] / "rejects", "webhook").entries()
    assert {e["request_id"] for e in rejects} == {
        "bad-token",
        "no-token",
        "not-json",
        "wrong-type",
        "spoof",
        "not-allowed",
        "unknown-type",
    }
    assert Counter(e["code"] for e in rejects)["unauthorised"] == 2
    assert "very high" not in json.dumps(rejects)

    # What reached Kafka: exactly the accepted events, each signed by its own partner.
    public = PartnerKeyStore(None, Path(info["keys"])).public_keys()
    topics = [partner_topic("merseyside-fire", swr), partner_topic("probation-nw", pu)]
    records = read_topic(broker.bootstrap, topics, len(accepted))
    assert Counter(m.key().decode() for m in records) == Counter(accepted.keys())
    for m in records:
        signer = verify(headers_bytes(m), m.topic(), m.key(), m.value(), public)
        assert signer == accepted[m.key().decode()]
