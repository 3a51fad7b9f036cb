"""Request plumbing shared by the console's routes: who is signed in, permissions, CSRF,
filters from the query string and page rendering."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.audit.queries import DecisionFilter, day_bounds
from hub.console.auth import Principal, tokens_match
from hub.console.state import ConsoleState

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
        label = (rest or head) + ("" if treatment == "keep" else f" ({treatment})")
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


def need(permission: str) -> Callable[[Principal], Principal]:
    def check(principal: User) -> Principal:
        if not principal.can(permission):
            raise HTTPException(403, f"your role ({principal.role.value}) cannot do this")
        return principal

    return check


def csrf_checked(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """For every POST: the session's CSRF token must come back in the form (or header)."""

    async def check(request: Request, principal: User) -> Principal:
        form = await request.form()
        given = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not tokens_match(given if isinstance(given, str) else None, request.state.csrf):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and retry")
        if not principal.can(permission):
            raise HTTPException(403, f"your role ({principal.role.value}) cannot do this")
        return principal

    return check


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf": getattr(request.state, "csrf", ""),
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


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

    @classmethod
    def from_request(cls, request: Request) -> Filters:
        q = request.query_params
        return cls(
            parse_day(q.get("from")),
            parse_day(q.get("to")),
            *(q.get(k, "").strip() for k in ("event_id", "event_type", "provider")),
            *(q.get(k, "").strip() for k in ("recipient", "agreement", "outcome")),
        )

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
        params = {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "event_id": self.event_id,
            "event_type": self.event_type,
            "provider": self.provider,
            "recipient": self.recipient,
            "agreement": self.agreement,
            "outcome": self.outcome,
            **extra,
        }
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
