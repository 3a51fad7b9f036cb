"""A FastAPI app on a real HTTP server (uvicorn) on a free local port, for the length of a
``with`` block: the base of the recipient APIs the sink tests push to."""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from fastapi import FastAPI


class LocalApi:
    """Subclasses build their routes on an app and call :meth:`serve` with it and the path
    their ``url`` names."""

    def serve(self, app: FastAPI, path: str) -> None:
        self._lock = threading.Lock()  # the handlers' state, shared with the test's thread
        self._path = path
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{self._path}"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
