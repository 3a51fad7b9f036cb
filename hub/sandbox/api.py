"""The sandbox's own small HTTP API: where things are, and the dry run of one record.

``GET /`` the addresses, key folder and outputs; ``GET /partners/{id}`` that partner's
guide as text; ``POST /check-record`` a record document (hub/sandbox/record.py) in, the
processor's verdict out, exactly as ``hub partner check-record`` prints it with ``--json``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from hub.errors import ConfigError
from hub.sandbox.dryrun import RecordChecker
from hub.sandbox.guide import SandboxInfo
from hub.sandbox.record import parse_record
from hub.sandbox.services import SandboxError


def create_api(info: SandboxInfo, checker: RecordChecker, guide: Callable[[str], str]) -> FastAPI:
    app = FastAPI(title="hub sandbox", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/")
    def status() -> dict[str, Any]:
        return info.as_dict()

    @app.get("/partners/{partner}", response_class=PlainTextResponse)
    def partner(partner: str) -> str:
        return guide(partner)

    @app.post("/check-record", response_model=None)
    async def check_record(request: Request) -> dict[str, Any] | JSONResponse:
        # Read as JSON whatever the content type says (`curl --data @record.json` sends
        # application/x-www-form-urlencoded).
        try:
            record = parse_record(json.loads(await request.body()))
        except (ConfigError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        # The check asks the registry over HTTP: off the event loop.
        verdict = await run_in_threadpool(checker.check, record)
        return verdict.as_dict()

    return app


class ApiServer:
    """uvicorn in a daemon thread on a socket bound here (so the port is known at once)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._sock = socket.socket(socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise SandboxError(
                f"cannot listen on {host}:{port} ({exc.strerror}): pass --api-port 0"
            ) from exc
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", log_config=None, access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 10.0) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError(f"the sandbox API did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
