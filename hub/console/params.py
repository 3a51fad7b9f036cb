"""The console's one validation layer for what a request carries: query parameters, path
parameters and form fields.

Every route gets :func:`check_request` (an app-wide dependency) before anything else runs:
it refuses a parameter the route does not declare (a misspelt filter would otherwise be
ignored, and an export be wider than asked), a parameter given twice, an over-long value and
control characters (PostgreSQL refuses NUL in text: that was a 500). Typed values are parsed
by the functions here (:func:`day`, :func:`identifier`, :data:`PageNumber`), which raise
:class:`ParamError` naming the parameter and what to send instead; FastAPI's own validation
errors are turned into the same answer by ``hub.console.problems``. Either way the reader
gets a 400: the console's error page for a page, problem+json (RFC 9457) under ``/api``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

MAX_VALUE = 256  # characters in any query or path value
MAX_FORM = 2000  # a form field (an action's reason may be a few sentences)
MAX_SECRET = 1024  # a password: long passphrases are welcome, megabytes are not
SECRET_FIELDS = frozenset({"password"})
# Days the audit can hold. A bound, so ``to + 1 day`` never overflows (9999-12-31 was a 500).
MIN_DAY, MAX_DAY = date(1970, 1, 1), date(2999, 12, 31)
# Pages of 50 to 500 rows: a million pages is beyond any audit this hub keeps, and it keeps
# OFFSET far inside SQLite's and PostgreSQL's 64-bit range (99999999999999999999 was a 500).
MAX_PAGE_NUMBER = 1_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
# Ids of partners, recipients, agreements, event types and outcomes: what partners.yaml and
# the catalogue allow, and nothing that needs escaping anywhere.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}")

PageNumber = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE_NUMBER, description=f"page number, 1 to {MAX_PAGE_NUMBER:,}"),
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one parameter, said so that the reader can fix it."""

    parameter: str
    problem: str
    value: str | None = None  # as sent, shortened; never for a password

    def as_dict(self) -> dict[str, str]:
        out = {"parameter": self.parameter, "problem": self.problem}
        if self.value is not None:
            out["value"] = self.value
        return out


class ParamError(Exception):
    """A request whose parameters cannot be used as sent: answered 400, never a 500."""

    status_code = 400

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.parameter}: {p.problem}" for p in self.problems))


def shown(value: str) -> str:
    """A value as echoed in an error: short, and without control characters."""
    clean = _CONTROL_OR_NEWLINE.sub("?", value)
    return clean if len(clean) <= 40 else clean[:37] + "..."


def fail(parameter: str, problem: str, value: str | None = None) -> ParamError:
    return ParamError([Problem(parameter, problem, shown(value) if value is not None else None)])


def day(name: str, raw: str | None) -> date | None:
    """A calendar day ``YYYY-MM-DD``; empty means "not given" (filter forms send empty
    fields). Anything else is refused: a filter silently ignored widens an export."""
    if raw is None or not raw.strip():
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        raise fail(name, "must be a date as YYYY-MM-DD", raw) from None
    if not MIN_DAY <= value <= MAX_DAY:
        raise fail(name, f"must be between {MIN_DAY} and {MAX_DAY}", raw)
    return value


def period(start: date | None, end: date | None, names: tuple[str, str] = ("from", "to")) -> None:
    if start is not None and end is not None and end < start:
        raise fail(names[1], f"is before {names[0]} ({start})", end.isoformat())


def identifier(name: str, raw: str | None) -> str:
    """An id (partner, recipient, agreement, event type, outcome); empty means any."""
    value = (raw or "").strip()
    if value and not _IDENTIFIER.fullmatch(value):
        raise fail(name, "must be an id: letters, digits and . _ : @ - (at most 100)", raw)
    return value


def text(name: str, raw: str | None, max_len: int = MAX_VALUE) -> str:
    """Free text such as an event id (partners choose their own): printable, bounded."""
    value = (raw or "").strip()
    if len(value) > max_len:
        raise fail(name, f"is longer than {max_len} characters", raw)
    if _CONTROL_OR_NEWLINE.search(value):
        raise fail(name, "contains control characters", raw)
    return value


# -- the app-wide check ----------------------------------------------------------------

_DECLARED: dict[int, frozenset[str]] = {}


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares (its own and its dependencies')."""
    key = id(route)
    if key not in _DECLARED:
        names: set[str] = set()
        todo: list[Dependant] = [route.dependant]
        while todo:  # the dependency tree, walked by hand: FastAPI's helpers are private
            dependant = todo.pop()
            names.update(p.alias for p in dependant.query_params)
            todo.extend(dependant.dependencies)
        _DECLARED[key] = frozenset(names)
    return _DECLARED[key]


def _value_problems(where: str, name: str, value: str, limit: int) -> list[Problem]:
    if len(value) > limit:
        return [Problem(name, f"{where} value is longer than {limit} characters", shown(value))]
    pattern = _CONTROL if where == "form" else _CONTROL_OR_NEWLINE
    if pattern.search(value):
        hidden = None if name in SECRET_FIELDS else shown(value)
        return [Problem(name, f"{where} value contains control characters", hidden)]
    return []


async def check_request(request: Request) -> None:
    """Run for every route (``FastAPI(dependencies=...)``): see the module docstring."""
    problems: list[Problem] = []
    route = request.scope.get("route")
    allowed = declared_query(route) if isinstance(route, APIRoute) else None
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if allowed is not None and name not in allowed:
            accepted = ", ".join(sorted(allowed)) or "no parameters"
            problems.append(Problem(shown(name), f"is not a parameter here (accepted: {accepted})"))
            continue
        if name in seen:
            problems.append(Problem(name, "is given more than once"))
            continue
        seen.add(name)
        problems += _value_problems("query", name, value, MAX_VALUE)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            problems += _value_problems("path", name, value, MAX_VALUE)
    if request.method == "POST" and _is_form(request):
        form = await request.form()
        for name, item in form.multi_items():
            if isinstance(item, str):
                limit = MAX_SECRET if name in SECRET_FIELDS else MAX_FORM
                problems += _value_problems("form", name, item, limit)
            else:
                problems.append(Problem(name, "files are not accepted here"))
    if problems:
        raise ParamError(problems)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def problems_from_validation(errors: Iterable[Any]) -> list[Problem]:
    """FastAPI's validation errors (a non-numeric page, a missing form field) as problems."""
    out = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body", "form")]
        name = ".".join(loc) or "request"
        value = e.get("input")
        shown_value = (
            shown(str(value))
            if isinstance(value, (str, int, float)) and name not in SECRET_FIELDS
            else None
        )
        out.append(Problem(name, str(e.get("msg", "is not valid")).lower(), shown_value))
    return out


def app_routes(app: Any) -> list[tuple[str, frozenset[str], APIRoute]]:
    """Every API route of ``app`` as (full path, methods, route), whichever way this FastAPI
    version keeps included routers (flat, or lazily as included-router objects)."""
    out: list[tuple[str, frozenset[str], APIRoute]] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            out.append((route.path, frozenset(route.methods or ()), route))
        elif hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if isinstance(ctx.original_route, APIRoute):
                    out.append((ctx.path, frozenset(ctx.methods or ()), ctx.original_route))
    return out
