"""A recipient case API on a real HTTP server (FastAPI on uvicorn) that keeps the HTTP push
contract of connectors/sinks/http_push.py: one case per (provider, event id); a POST applies
only above the held rank; a DELETE of ``<url>/<provider>/<event id>`` leaves a tombstone
with its reason code when its (revision, notice) outranks what is held, 404 when nothing is
held. ``refuse_deletes`` makes it answer DELETEs with that status (an API in trouble) while
POSTs still work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.connectors.sinks.local_api import LocalApi

Key = tuple[str, str]


@dataclass
class CaseApi(LocalApi):
    refuse_deletes: int | None = None
    cases: dict[Key, dict[str, Any]] = field(default_factory=dict)
    deletes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # key, body
    posts: list[str] = field(default_factory=list)  # disclosure ids, in order

    def __post_init__(self) -> None:
        app = FastAPI()

        @app.post("/api/v1/cases")
        async def post(request: Request) -> Response:
            return self._post(json.loads(await request.body()))

        @app.delete("/api/v1/cases/{provider}/{event_id}")
        async def delete(provider: str, event_id: str, request: Request) -> Response:
            body = json.loads(await request.body())
            key = request.headers.get("idempotency-key", "")
            return self._delete((provider, event_id), key, body)

        self.serve(app, "/api/v1/cases")

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
