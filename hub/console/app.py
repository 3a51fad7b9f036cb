"""The IG console: a FastAPI app of server-rendered pages, CSV exports and a JSON API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response

from hub.console import (
    routes_agreements,
    routes_core,
    routes_data,
    routes_insight,
    routes_people,
)
from hub.console.state import ConsoleConfig, ConsoleState
from hub.console.web import LoginRequired, render
from hub.errors import HubError

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


def create_app(config: ConsoleConfig, state: ConsoleState | None = None) -> FastAPI:
    app = FastAPI(
        title="Partner data-sharing hub: IG console API",
        description="The disclosure audit, read-only, for information governance. Login with a "
        "console account first (the session cookie authenticates API calls).",
        version="1",
        openapi_url=None,  # served behind login by routes_data.openapi
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = state or ConsoleState.open(config)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return render(
            request, "error.html", status_code=exc.status_code, status=exc.status_code,
            detail=exc.detail,
        )  # fmt: skip

    @app.exception_handler(HubError)
    async def hub_error(request: Request, exc: HubError) -> Response:
        # E.g. an agreement file that does not load: say which, do not show a stack trace.
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=500)
        return render(request, "error.html", status_code=500, status=500, detail=str(exc))

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    for router in (
        routes_core.router,
        routes_agreements.router,
        routes_people.router,
        routes_insight.router,
        routes_data.csv_router,
    ):
        app.include_router(router, include_in_schema=False)
    app.include_router(routes_data.api)
    return app
