"""The dummy source and sink, run as services by the runtime (as `hub connector run` does),
through the real processor; a stop request ends both cleanly."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from connectors.base.config import parse_config
from connectors.base.runtime import run
from tests.connectors.conftest import Hub, hub_env, wait_for

pytestmark = pytest.mark.integration


def test_dummy_source_to_dummy_sink(hub: Hub, tmp_path: Path) -> None:
    source = parse_config(
        {
            "name": "dummy-fire",
            "partner": "merseyside-fire",
            "signing": {
                "key_id": "merseyside-fire/dev1",
                "dev_keys_dir": str(hub.settings.data_dir / "partner-keys"),
            },
            "state_dir": str(tmp_path / "src"),
            "source": {
                "type": "dummy",
                "event_type": "safe-and-well-referral",
                "count": 80,
                "seed": 4,
            },
        }
    )
    delivered = tmp_path / "delivered.jsonl"
    sink = parse_config(
        {
            "name": "dummy-mash",
            "recipient": "liverpool-mash",
            "state_dir": str(tmp_path / "snk"),
            "sink": {"type": "dummy", "path": str(delivered)},
        }
    )
    stop = threading.Event()
    codes: list[int] = []
    env = hub_env(hub)
    threads = [
        threading.Thread(
            target=lambda c=c: codes.append(run(c, env, stop=stop, install_signals=False))
        )
        for c in (source, sink)
    ]
    for t in threads:
        t.start()

    def lines() -> int:
        return len(delivered.read_text().splitlines()) if delivered.exists() else 0

    # Fire referrals about Liverpool occupiers who consented are shared with its MASH.
    wait_for(lambda: hub.processor.stats.consumed >= 80, 60, "the processor")
    wait_for(lambda: lines() >= hub.processor.stats.shared["liverpool-mash"] > 0, 60, "the sink")
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(20)
    assert codes == [0, 0]
    ids = [json.loads(line)["disclosure_id"] for line in delivered.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == hub.processor.stats.shared["liverpool-mash"]
