"""How the console answers what went wrong, and the headers every answer carries.

One format per kind of client: the console's own error page for a page, problem+json
(RFC 9457: ``type``, ``title``, ``status``, ``detail``, ``instance``, plus ``errors`` per
parameter) under ``/api/``. Bad input is a 4xx naming the parameter; only a fault of the
hub itself is a 500, and that says nothing of its internals.

Security headers are set by a middleware on every normal response; an unexpected error is
answered by Starlette outside the middlewares, so :func:`security_headers` is applied there
too. HSTS goes with secure cookies: a console that marks its cookies Secure is served over
TLS, and browsers should never try it without.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.console.params import ParamError, Problem, problems_from_validation
from hub.console.web import LoginRequired, render
from hub.errors import HubError

log = logging.getLogger(__name__)

# Pages show personal data: nothing is cached, framed, or fetched from elsewhere. Inline
# styles are allowed (the pages carry their CSS); no scripts at all.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
    "data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HSTS = "max-age=31536000; includeSubDomains"
PROBLEM_JSON = "application/problem+json"
# Problem types: stable URNs a client can switch on (RFC 9457 3.1.1 allows any URI).
INVALID_PARAMETER = "urn:hub:console:problem:invalid-parameter"


def cookies_secure(request: Request) -> bool:
    """Whether cookies are marked Secure: as configured, or when the request came by https."""
    configured = request.app.state.console.config.secure_cookies
    return request.url.scheme == "https" if configured is None else bool(configured)


def security_headers(request: Request, response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if cookies_secure(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def problem(
    request: Request,
    status: int,
    detail: str,
    problems: list[Problem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error answer in the caller's format."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if _is_api(request):
        body: dict[str, Any] = {
            "type": INVALID_PARAMETER if problems else "about:blank",
            "title": "Invalid parameter" if problems else title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
        }
        if problems:
            body["errors"] = [p.as_dict() for p in problems]
        response: Response = JSONResponse(
            body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
        )
    else:
        response = render(
            request, "error.html", status_code=status, status=status, title=title,
            detail=detail, problems=problems or [],
        )  # fmt: skip
        response.headers.update(headers or {})
    return security_headers(request, response)


def install(app: FastAPI) -> None:
    """Register the error answers and the headers middleware on ``app``."""

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = f"/login?next={quote(exc.next_url, safe='/')}"
        return security_headers(request, RedirectResponse(target, status_code=303))

    @app.exception_handler(ParamError)
    async def bad_parameter(request: Request, exc: ParamError) -> Response:
        detail = "the request's parameters cannot be used as sent: " + str(exc)
        return problem(request, 400, detail, exc.problems)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = problems_from_validation(exc.errors())
        detail = "the request's parameters cannot be used as sent: " + "; ".join(
            f"{p.parameter}: {p.problem}" for p in problems
        )
        return problem(request, 400, detail, problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(HubError)
    async def hub_error(request: Request, exc: HubError) -> Response:
        # E.g. an agreement file that does not load: say which, do not show a stack trace.
        return problem(request, 500, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its type only: a message may quote a filter value or an identifier.
        log.error("console: unexpected %s on %s", type(exc).__name__, request.url.path)
        return problem(request, 500, "the console failed on this request; it has been logged")

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return security_headers(request, await call_next(request))
