"""A recipient case API for the HTTP push tests: a real HTTP server (FastAPI on uvicorn)
that behaves like the APIs recipients run. It stores each disclosure once per
``Idempotency-Key``, answers 503 to its first few calls (a deploy in progress), and refuses
with 400 the referrals it is told to refuse (a validation rule of its own)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class RecipientApi:
    token: str
    unavailable_first: int = 3
    refuse_events: set[str] = field(default_factory=set)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    unauthorised: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/api/v1/disclosures")
        async def receive(request: Request) -> Response:
            body = json.loads(await request.body())
            return self.handle(dict(request.headers), body)

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/api/v1/disclosures"

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

    def __enter__(self) -> RecipientApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
