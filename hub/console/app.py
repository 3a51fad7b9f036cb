"""The IG console: a FastAPI app of server-rendered pages, CSV exports and a JSON API."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from hub.console import (
    problems,
    routes_agreements,
    routes_core,
    routes_data,
    routes_documents,
    routes_insight,
    routes_people,
    routes_retractions,
)
from hub.console.params import check_request
from hub.console.problems import SECURITY_HEADERS
from hub.console.state import ConsoleConfig, ConsoleState

__all__ = ["SECURITY_HEADERS", "create_app"]


def create_app(config: ConsoleConfig, state: ConsoleState | None = None) -> FastAPI:
    app = FastAPI(
        title="Partner data-sharing hub: IG console API",
        description="The disclosure audit, read-only, for information governance. Login with a "
        "console account first (the session cookie authenticates API calls).",
        version="1",
        openapi_url=None,  # served behind login by routes_data.openapi
        docs_url=None,
        redoc_url=None,
        # The one validation layer, before every route: unknown, repeated, over-long or
        # control-character parameters are a 400 (hub.console.params).
        dependencies=[Depends(check_request)],
    )
    app.state.console = state or ConsoleState.open(config)

    problems.install(app)
    for router in (
        routes_core.router,
        routes_agreements.router,
        routes_documents.router,
        routes_people.router,
        routes_insight.router,
        routes_retractions.router,
        routes_data.csv_router,
    ):
        app.include_router(router, include_in_schema=False)
    app.include_router(routes_data.api)
    return app
