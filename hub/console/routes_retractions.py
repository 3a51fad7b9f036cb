"""Retraction notices left unreceipted (issue 18): for the IG officer to chase.

A retraction notice tells a recipient to delete or correct what it was sent (UK GDPR Art 19).
The recipient's sink receipts it like a disclosure; a notice with no *delivered* receipt
after ``hours`` (default: the console's ``notice_receipt_hours``) is listed here, oldest
first, with the last failure the sink reported. Scoped like every page: a partner admin sees
notices about what their organisation provided, or sent to a recipient they operate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.audit import revisions
from hub.console.web import Viewer, console, render

router = APIRouter()
MAX_HOURS = 24 * 366  # a year: a notice unreceipted longer is still listed at any smaller value


@router.get("/retractions", response_class=HTMLResponse)
def unreceipted_page(
    request: Request,
    principal: Viewer,
    hours: Annotated[
        float | None,
        Query(ge=0, le=MAX_HOURS, description=f"notices older than this, 0 to {MAX_HOURS} hours"),
    ] = None,
) -> Response:
    st = console(request)
    wait = st.config.notice_receipt_hours if hours is None else hours
    cutoff = datetime.now(UTC) - timedelta(hours=wait)
    with st.store.engine.connect() as conn:
        notices = revisions.unreceipted_notices(conn, principal.scope, cutoff.isoformat())
    st.consult(principal, "view-unreceipted-notices", {"hours": str(wait)}, len(notices))
    return render(
        request,
        "retractions.html",
        notices=notices,
        hours=wait,
        cutoff=cutoff,
        limit=revisions.MAX_NOTICES,
    )
