"""The whole synthetic partnership through the real connectors, broker, registry and
processor: drop folders and a web hook publish, every recipient with an agreement receives
into its sink, every disclosure is receipted, and the bad input is reported."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hub.audit.records import ReceiptRecord
from hub.broker import EmbeddedBroker, ensure_topics
from hub.catalogue import RECEIPTS_TOPIC
from hub.config import Settings
from hub.demo.partnership import partnership_topics, run_partnership
from tests.connectors.conftest import read_topic

pytestmark = pytest.mark.integration


def test_every_recipient_receives_through_the_connectors(
    broker: EmbeddedBroker, registry_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "hub")
    ensure_topics(broker.bootstrap, partnership_topics(settings))
    run = run_partnership(
        settings, broker.bootstrap, registry_url, tmp_path / "run", events=300, seed=7, timeout=90
    )

    shared = run.processor["shared"]
    # Every recipient of the partnership gets something through its agreements: the five
    # MASHs, IOM, the Modern Slavery Network, the VRP, and the police (MASH decisions).
    assert set(shared) == {
        "liverpool-mash",
        "knowsley-mash",
        "sefton-mash",
        "st-helens-mash",
        "wirral-mash",
        "merseyside-iom",
        "modern-slavery-network",
        "merseyside-vrp",
        "merseyside-police",
    }
    assert all(n > 0 for n in shared.values())
    assert {r: n for r, n in run.delivered.items() if n} == shared
    assert run.receipts == {"delivered": sum(shared.values()), "failed": 0}
    assert run.processor["consumed"] == run.published_total and run.processor["deadlettered"] == {}
    # Both source kinds published for their partners.
    assert run.published["merseyside-police"] > 0 and run.published["liverpool-cc"] > 0
    assert run.published["nhs-cm"] > 0 and run.published["merseyside-fire"] > 0
    assert run.webhook_calls["202"] == sum(
        run.published[p] for p in ("merseyside-fire", "probation-nw", "nhs-cm", "yjs-liverpool")
    )
    # The bad input, each reported with where it was and why.
    assert run.rejected == {
        "duplicate-file": 1,
        "malformed": 1,
        "schema-invalid": 1,
        "unauthorised": 1,
        "wrong-type": 2,
    }
    assert {r.get("request_id") for r in run.rejects if "request_id" in r} == {
        "demo-bad-token",
        "demo-bad-body",
    }
    assert run.files == {"processed": run.files["processed"], "rejected": 1}

    receipts = [
        ReceiptRecord.from_json(m.value())
        for m in read_topic(broker.bootstrap, RECEIPTS_TOPIC, sum(shared.values()))
    ]
    assert Counter(r.recipient for r in receipts) == shared
    assert len({r.receipt_id for r in receipts}) == len(receipts)
    # The VRP gets a daily CSV, anonymised.
    (vrp,) = Path(run.outputs["sinks"]["merseyside-vrp"]).glob("*-assault-attendance.csv")
    assert "given_name" not in vrp.read_text().splitlines()[0]
