"""A recipient case API for the HTTP push tests: a real HTTP server (FastAPI on uvicorn)
that behaves like the APIs recipients run. It stores each disclosure once per
``Idempotency-Key``, answers 503 to its first few calls (a deploy in progress), and refuses
with 400 the referrals it is told to refuse (a validation rule of its own)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.connectors.sinks.local_api import LocalApi


@dataclass
class RecipientApi(LocalApi):
    token: str
    unavailable_first: int = 3
    refuse_events: set[str] = field(default_factory=set)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    unauthorised: int = 0

    def __post_init__(self) -> None:
        app = FastAPI()

        @app.post("/api/v1/disclosures")
        async def receive(request: Request) -> Response:
            body = json.loads(await request.body())
            return self.handle(dict(request.headers), body)

        self.serve(app, "/api/v1/disclosures")

    def handle(self, headers: dict[str, str], body: dict[str, Any]) -> Response:
        with self._lock:
            self.calls += 1
            if headers.get("authorization") != f"Bearer {self.token}":
                self.unauthorised += 1
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            key = headers.get("idempotency-key", "")
            self.attempts[key] += 1
            if self.calls <= self.unavailable_first:
                return JSONResponse({"error": "deploying"}, status_code=503)
            if body["record"]["envelope"]["event_id"] in self.refuse_events:
                return JSONResponse({"error": "subject date of birth is required"}, status_code=400)
            if key in self.stored:
                return JSONResponse({"status": "already received"}, status_code=200)
            self.stored[key] = body
            return JSONResponse({"status": "created"}, status_code=201)
