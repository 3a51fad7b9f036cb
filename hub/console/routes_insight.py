"""Alerts and aggregates (issue 8 in the console): the linkage alerts raised, each with its
decision and contributing events, and the VRP's suppressed weekly tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hub.analytics.config import AnalyticsConfig
from hub.audit import queries
from hub.console.params import PageNumber
from hub.console.web import Viewer, console, render

router = APIRouter()

ALERT_TYPE = "linkage-alert"
CONTRIBUTING = "contributing events: "


def _contributing(notes: list[str]) -> list[str]:
    """The contributing event ids the analytics wrote into the alert decision's notes."""
    for note in notes:
        if note.startswith(CONTRIBUTING):
            return [e.strip() for e in note.removeprefix(CONTRIBUTING).split(",") if e.strip()]
    return []


def _feed(folder: Path, limit: int = 6) -> list[dict[str, Any]]:
    """The newest VRP week tables (JSON files the analytics publish), newest first."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:limit]:
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a file being replaced: shown on the next visit
    return out


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, principal: Viewer, page: PageNumber = 1) -> Response:
    st = console(request)
    flt = queries.DecisionFilter(event_type=ALERT_TYPE)
    with st.store.engine.connect() as conn:
        result = queries.find_decisions(conn, principal.scope, flt, page, 50)
        # Each contributing event's own decisions, by the same scope: a partner admin sees
        # only those in their organisation's flows.
        contributing = {
            d["decision_id"]: [
                (event_id, bool(queries.find_decisions(
                    conn, principal.scope, queries.DecisionFilter(event_id=event_id), 1, 1
                ).total))
                for event_id in _contributing(d.get("notes") or [])
            ]
            for d in result.rows
        }  # fmt: skip
    st.consult(principal, "view-alerts", {"page": str(page)}, result.total)
    # Aggregates hold no identifiers (small numbers suppressed): no consultation entry.
    feed = _feed(AnalyticsConfig().feed(st.config.settings))
    return render(request, "alerts.html", result=result, contributing=contributing, feed=feed)
