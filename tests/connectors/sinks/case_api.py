"""A recipient case API on a real HTTP server (FastAPI on uvicorn) that keeps the HTTP push
contract of connectors/sinks/http_push.py: one case per (provider, event id); a POST applies
only above the held rank; a DELETE of ``<url>/<provider>/<event id>`` leaves a tombstone
with its reason code when its (revision, notice) outranks what is held, 404 when nothing is
held. ``refuse_deletes`` makes it answer DELETEs with that status (an API in trouble) while
POSTs still work."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

Key = tuple[str, str]


@dataclass
class CaseApi:
    refuse_deletes: int | None = None
    cases: dict[Key, dict[str, Any]] = field(default_factory=dict)
    deletes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # key, body
    posts: list[str] = field(default_factory=list)  # disclosure ids, in order

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/api/v1/cases")
        async def post(request: Request) -> Response:
            return self._post(json.loads(await request.body()))

        @app.delete("/api/v1/cases/{provider}/{event_id}")
        async def delete(provider: str, event_id: str, request: Request) -> Response:
            body = json.loads(await request.body())
            key = request.headers.get("idempotency-key", "")
            return self._delete((provider, event_id), key, body)

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/api/v1/cases"

    def _post(self, body: dict[str, Any]) -> Response:
        with self._lock:
            self.posts.append(body["disclosure_id"])
            key = (body["provider"], body["event_id"])
            held = self.cases.get(key)
            if held is None or (body["revision"], 0) > held["rank"]:
                self.cases[key] = {"rank": (body["revision"], 0), "record": body["record"]}
            return JSONResponse({"status": "ok"}, status_code=201)

    def _delete(self, case: Key, key: str, body: dict[str, Any]) -> Response:
        with self._lock:
            self.deletes.append((key, body))
            if self.refuse_deletes is not None:
                return JSONResponse({"error": "try later"}, status_code=self.refuse_deletes)
            held = self.cases.get(case)
            if held is None:
                return JSONResponse({"error": "no such case"}, status_code=404)
            if (body["revision"], 1) > held["rank"]:
                self.cases[case] = {"rank": (body["revision"], 1), "tombstone": body}
            return Response(status_code=204)

    def __enter__(self) -> CaseApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
