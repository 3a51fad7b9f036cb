"""Login, the activity overview and the decision explorer."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.audit import queries, revisions
from hub.console import watch
from hub.console.auth import LockedOut, Principal, tokens_match
from hub.console.charts import daily_bars, hbars, spark
from hub.console.params import PageNumber, text
from hub.console.problems import cookies_secure
from hub.console.web import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Days,
    DecisionFilters,
    Period,
    User,
    Viewer,
    console,
    csrf_checked,
    render,
)
from hub.console.withheld import withheld_from_operated
from hub.console.words import Names

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute URL (an open redirect after login).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/activity"


def _login_page(
    request: Request, next_url: str, status_code: int = 200, **context: Any
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", status_code, login_csrf=token, next_url=_safe_next(next_url),
        **context,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
        max_age=1800,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/activity", failed: bool = False) -> Response:
    return _login_page(request, next, failed=failed)


def _locked_page(request: Request, next_url: str, locked: LockedOut) -> Response:
    """Said plainly, with the time to retry, so a locked-out officer is not left guessing
    whether they mistyped. The same answer whether or not the account exists."""
    retry = locked.retry_at.astimezone(UTC).strftime("%H:%M:%S UTC")
    response = _login_page(request, next_url, 429, locked=locked.what, retry_at=retry)
    response.headers["Retry-After"] = str(locked.seconds(datetime.now(UTC)))
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/activity",
) -> Response:
    # Login CSRF: the form's token must match the cookie set with the form (double submit).
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the login page")
    st = console(request)
    address = request.client.host if request.client else None
    name = username.strip()
    try:
        principal = st.auth.authenticate(name, password, address)
        if principal is None:
            st.auth.lockout.check(name, address)  # this failure may be the one that locks
    except LockedOut as locked:
        return _locked_page(request, next, locked)
    if principal is None:
        return RedirectResponse("/login?failed=1", status_code=303)
    session_id, _session = st.sessions.create(principal.user_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=cookies_secure(request),
        max_age=8 * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, _principal: Annotated[Principal, Depends(csrf_checked("view"))]
) -> Response:
    console(request).sessions.delete(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(_principal: User) -> Response:
    return RedirectResponse("/activity", status_code=303)


def _default_period(days: Period) -> tuple[date | None, date | None]:
    """The last 30 days unless a period was asked for (``?from=`` alone: all time)."""
    if not days.given:
        end = datetime.now(UTC).date()
        return end - timedelta(days=29), end
    return days.start, days.end


@router.get("/activity", response_class=HTMLResponse)
def activity_page(request: Request, principal: Viewer, period: Days) -> Response:
    start, end = _default_period(period)
    since, until = queries.day_bounds(start, end)
    scope = principal.scope
    with console(request).store.engine.connect() as conn:
        rows = queries.activity(conn, scope, since, until)
        withheld = withheld_from_operated(conn, scope, since, until)
        attention = queries.attention(conn, scope, since, until)
        recent_dead = queries.list_dead_letters(conn, scope, since, until, limit=10)
        failed = queries.list_receipts(conn, scope, "failed", since, until, limit=10)
    days: list[str] = []
    if start and end and (end - start).days <= 120:
        days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    else:
        days = sorted({r.day for r in rows})
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by: dict[str, dict[str, list[int]]] = {
        k: defaultdict(lambda: [0, 0]) for k in ("agreement", "provider", "recipient")
    }
    totals = [0, 0]
    notices: dict[str, int] = defaultdict(int)  # retraction notices sent, by recipient
    for r in rows:
        series[r.outcome][r.day] += r.count
        if r.outcome == "retracted":  # a notice withdraws a disclosure: not a withheld one
            notices[r.recipient] += r.count
            continue
        i = 0 if r.outcome == "shared" else 1
        totals[i] += r.count
        by["agreement"][r.agreement_id or "(no agreement)"][i] += r.count
        by["provider"][r.provider][i] += r.count
        by["recipient"][r.recipient][i] += r.count
    tables = {
        k: sorted(((n, s, w) for n, (s, w) in v.items()), key=lambda t: (-t[1] - t[2], t[0]))
        for k, v in by.items()
    }
    by_agreement = watch.volumes(rows)
    return render(
        request,
        "activity.html",
        start=start,
        end=end,
        chart=daily_bars(days, series),
        rate_alerts=watch.rate_alerts(by_agreement, days, end) if end else [],
        sparks={aid: spark(days, v.shared, v.withheld) for aid, v in by_agreement.items()},
        recipient_chart=hbars(
            [(Names.of(console(request).partnership)(n), s, w) for n, s, w in tables["recipient"]]
        ),
        tables=tables,
        totals=totals,
        notices=sorted(notices.items()),
        attention=attention,
        recent_dead=recent_dead,
        failed=failed,
        withheld=withheld,
    )


@router.get("/decisions", response_class=HTMLResponse)
def decisions_page(
    request: Request,
    principal: Viewer,
    filters: DecisionFilters,
    page: PageNumber = 1,
) -> Response:
    st = console(request)
    scope = principal.scope
    with st.store.engine.connect() as conn:
        result = queries.find_decisions(conn, scope, filters.decision_filter(), page, 50)
        options = {
            c: queries.distinct_values(conn, scope, c)
            for c in ("event_type", "provider", "recipient", "agreement_id")
        }
    st.consult(
        principal, "search-decisions", filters.as_target() | {"page": str(page)}, result.total
    )
    return render(
        request,
        "decisions.html",
        filters=filters,
        result=result,
        options=options,
        query=filters.query(),
    )


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
def decision_page(request: Request, decision_id: str, principal: Viewer) -> Response:
    decision_id = text("decision_id", decision_id, 64)
    st = console(request)
    with st.store.engine.connect() as conn:
        detail = queries.decision_detail(conn, principal.scope, decision_id)
        chain = (
            []
            if detail is None
            else revisions.revision_chain(
                conn,
                principal.scope,
                detail.decision["provider"],
                detail.decision["event_id"],
                detail.decision["recipient"],
            )
        )
    if detail is None:
        # The same answer whether it does not exist or belongs to another partner's flows.
        raise HTTPException(404, "no such decision")
    st.consult(principal, "view-decision", {"decision_id": decision_id}, 1)
    d = detail.decision
    clauses: dict[str, Any] = {}
    agreement = None
    if d["agreement_id"] and d["agreement_version"]:
        agreement = next(
            (
                a
                for a in st.agreements()
                if a.id == d["agreement_id"] and a.version == d["agreement_version"]
            ),
            None,
        )
        if agreement is not None:
            clauses = {c.id: c for c in agreement.fields}
    recipient = st.partnership.recipient(d["recipient"])
    return render(
        request,
        "decision.html",
        d=d,
        detail=detail,
        # Worth drawing once there is more than the one decision: a correction or a notice.
        chain=chain if len(chain) > 1 else [],
        agreement=agreement,
        clauses=clauses,
        recipient_name=recipient.name if recipient else d["recipient"],
    )
