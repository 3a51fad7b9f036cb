"""Request plumbing shared by the console's routes: who is signed in, permissions, CSRF,
filters from the query string and page rendering."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.agreements.document import changes
from hub.audit.queries import DecisionFilter, day_bounds
from hub.console import params
from hub.console.auth import Principal, tokens_match
from hub.console.state import ConsoleState
from hub.console.words import (
    ACTIONS,
    AREAS,
    TREATMENTS,
    Names,
    condition_words,
    explain,
    first_upper,
    reason_filter,
    retention_words,
    target_words,
)

COOKIE = "hub_session"
LOGIN_CSRF_COOKIE = "hub_login_csrf"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def field_summary(fields: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Shared fields compactly, for reports: grouped by record, treatment shown when the
    value was changed (token, generalised, redacted), the envelope as a count."""
    top: list[str] = []
    groups: dict[str, list[str]] = {}
    for path, f in sorted(fields.items()):
        head, _, rest = path.partition(".")
        treatment = f.get("treatment", "keep")
        # "generalise:age_band" reads "generalised", "token:msn" "pseudonymised".
        kind = treatment.split(":", 1)[0]
        label = (rest or head) + ("" if kind == "keep" else f" ({TREATMENTS.get(kind, kind)})")
        if rest:
            groups.setdefault(head, []).append(label)
        else:
            top.append(label)
    out = [", ".join(top)] if top else []
    for head, items in groups.items():
        out.append(
            f"{head}: {len(items)} fields" if head == "envelope" else f"{head}: {', '.join(items)}"
        )
    return out


TEMPLATES.env.filters["field_summary"] = field_summary
TEMPLATES.env.globals["explain"] = explain
TEMPLATES.env.globals["condition_words"] = condition_words
TEMPLATES.env.globals["treatment_words"] = TREATMENTS
TEMPLATES.env.globals["action_words"] = ACTIONS
TEMPLATES.env.globals["area_words"] = AREAS
TEMPLATES.env.globals["document_changes"] = changes
TEMPLATES.env.globals["retention_words"] = retention_words
TEMPLATES.env.filters["first_upper"] = first_upper
TEMPLATES.env.filters["target_words"] = target_words


class LoginRequired(Exception):
    """Raised for a page request without a valid session: answered by a redirect to login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def console(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def current(request: Request) -> Principal:
    st = console(request)
    session = st.sessions.get(request.cookies.get(COOKIE))
    principal = st.auth.principal(session.user_id) if session else None
    if principal is None or session is None:
        if request.url.path.startswith("/api/"):
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Cookie"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.csrf = session.csrf_token
    request.state.principal = principal
    return principal


User = Annotated[Principal, Depends(current)]


def _allowed(principal: Principal, permission: str) -> Principal:
    if not principal.can(permission):
        raise HTTPException(403, f"your role ({principal.role.value}) cannot do this")
    return principal


def need(permission: str) -> Callable[[Principal], Principal]:
    def check(principal: User) -> Principal:
        return _allowed(principal, permission)

    return check


Viewer = Annotated[Principal, Depends(need("view"))]


def csrf_checked(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """For every POST: the session's CSRF token must come back in the form (or header)."""

    async def check(request: Request, principal: User) -> Principal:
        form = await request.form()
        given = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not tokens_match(given if isinstance(given, str) else None, request.state.csrf):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and retry")
        return _allowed(principal, permission)

    return check


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    st = console(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            # IG officers' words: display names, and engine reasons in English.
            "name": Names.of(st.partnership),
            "in_words": reason_filter(st.agreements),
            "csrf": getattr(request.state, "csrf", ""),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


FromDay = Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")]
ToDay = Annotated[str | None, Query(description="last day (inclusive), YYYY-MM-DD")]


@dataclass(frozen=True)
class Period:
    """A ``from``/``to`` pair of days, validated (``hub.console.params.day``)."""

    start: date | None = None
    end: date | None = None
    given: bool = False  # whether either parameter was in the query at all

    def bounds(self) -> tuple[str | None, str | None]:
        return day_bounds(self.start, self.end)


def period_param(from_: FromDay = None, to: ToDay = None) -> Period:
    start, end = params.day("from", from_), params.day("to", to)
    params.period(start, end)
    return Period(start, end, from_ is not None or to is not None)


Days = Annotated[Period, Depends(period_param)]


@dataclass(frozen=True)
class Filters:
    """The explorer's query string, kept as typed so links and CSV exports reproduce it."""

    start: date | None = None
    end: date | None = None
    event_id: str = ""
    event_type: str = ""
    provider: str = ""
    recipient: str = ""
    agreement: str = ""
    outcome: str = ""

    def decision_filter(self) -> DecisionFilter:
        since, until = day_bounds(self.start, self.end)
        return DecisionFilter(
            since=since,
            until=until,
            event_id=self.event_id or None,
            event_type=self.event_type or None,
            provider=self.provider or None,
            recipient=self.recipient or None,
            agreement_id=self.agreement or None,
            outcome=self.outcome or None,
        )

    def query(self, **extra: Any) -> str:
        params = {**self.query_dict(), **extra}
        return urlencode({k: v for k, v in params.items() if v not in ("", None)}, quote_via=quote)

    def as_target(self) -> dict[str, str]:
        """For the consultation log: the filter, which names no person."""
        return {k: v for k, v in self.query_dict().items() if v}

    def query_dict(self) -> dict[str, str]:
        return {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "event_id": self.event_id,
            "event_type": self.event_type,
            "provider": self.provider,
            "recipient": self.recipient,
            "agreement": self.agreement,
            "outcome": self.outcome,
        }


Id = Annotated[str | None, Query(max_length=params.MAX_VALUE)]


def filters_param(
    period: Days,
    event_id: Annotated[str | None, Query(description="exact event id")] = None,
    event_type: Id = None,
    provider: Id = None,
    recipient: Id = None,
    agreement: Id = None,
    outcome: Annotated[str | None, Query(description="shared or withheld")] = None,
) -> Filters:
    """The decision filters of the explorer, its CSV and the API, each validated: a filter
    that cannot be parsed is refused, never dropped (an export wider than asked)."""
    return Filters(
        period.start,
        period.end,
        params.text("event_id", event_id, 64),
        params.identifier("event_type", event_type),
        params.identifier("provider", provider),
        params.identifier("recipient", recipient),
        params.identifier("agreement", agreement),
        params.identifier("outcome", outcome),
    )


DecisionFilters = Annotated[Filters, Depends(filters_param)]
