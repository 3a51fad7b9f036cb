"""The Alerts page: linkage alert decisions with their contributing events (linked only when
the viewer may see them), and the VRP's suppressed weekly tables."""

from __future__ import annotations

import dataclasses
import json

from hub.analytics.config import AnalyticsConfig
from tests.audit.test_queries import decision
from tests.console.conftest import Console, login


def raise_alert(console: Console) -> None:
    alert = dataclasses.replace(
        decision("a1", "alert-1", "liverpool-mash", "shared", "2026-11-06T09:00:00+00:00"),
        event_type="linkage-alert",
        provider="hub-analytics",
        agreement_id="linkage-alerts-liverpool-mash",
        reason="rule repeated-concerns-multi-agency@v1 alert allowed by "
        "linkage-alerts-liverpool-mash@v1",
        notes=(
            "linkage alert repeated-concerns-multi-agency@v1 from partners a, b",
            "contributing events: e10, e11",
        ),
    )
    console.app_state.store.write_decisions([alert])


def test_alerts_page_lists_alerts_and_their_contributing_events(console: Console) -> None:
    raise_alert(console)
    feed = AnalyticsConfig().feed(console.settings)
    feed.mkdir(parents=True)
    (feed / "2026-11-02-ed.json").write_text(
        json.dumps(
            {
                "week_starting": "2026-11-02",
                "source": "ed",
                "threshold": 5,
                "tables": [
                    {"name": "area_by_hour_band", "rows": ["L8"], "columns": ["00-04"],
                     "cells": [[None]]}
                ],
            }
        )
    )  # fmt: skip
    officer = login(console.client(), "officer")
    page = officer.get("/alerts").text
    assert "rule repeated-concerns-multi-agency (version 1) alert allowed by" in page
    assert 'href="/decisions?event_id=e10"' in page and 'href="/decisions?event_id=e11"' in page
    assert "Week starting 2026-11-02" in page
    assert '<td class="num">\u2013</td>' in page  # the suppressed cell, shown as a dash

    # The Liverpool admin sees the alert to their MASH, but the probation event (e11) is not
    # in Liverpool's flows: it is named, not linked.
    liverpool = login(console.client(), "liverpool")
    page = liverpool.get("/alerts").text
    assert 'href="/decisions?event_id=e10"' in page
    assert 'href="/decisions?event_id=e11"' not in page
    # Probation's admin is neither provider nor recipient of the alert: it is not listed.
    probation = login(console.client(), "probation")
    assert "repeated-concerns-multi-agency" not in probation.get("/alerts").text
