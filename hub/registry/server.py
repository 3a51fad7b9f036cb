"""Run the registry app with uvicorn in a background thread, for local runs and tests."""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn

from hub.contexts import StartStop
from hub.registry.app import create_app
from hub.registry.exceptions import RegistryStartError
from hub.registry.store import SchemaStore


class RegistryServer(StartStop):
    """An HTTP schema registry on ``host:port`` (port 0 picks a free one).

    The socket is bound here rather than by uvicorn so the real port is known before the
    server thread starts and no other process can take it in between.
    """

    def __init__(
        self,
        store: SchemaStore,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        start_timeout: float = 10.0,
    ) -> None:
        self._store = store
        self._host = host
        self._requested_port = port
        self._start_timeout = start_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the registry server is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Start serving; returns once the socket accepts connections."""
        if self.running:
            return self
        sock = _bind(self._host, self._requested_port)
        config = uvicorn.Config(
            create_app(self._store),
            host=self._host,
            port=sock.getsockname()[1],
            log_level="warning",
            log_config=None,  # leave the hub's logging configuration alone
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="schema-registry", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RegistryStartError(
                    f"schema registry did not start on {self._host}:{config.port}"
                )
            time.sleep(0.01)
        self._port = config.port
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit, wait for the thread, and release the port."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        self._port = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():  # open connections did not finish: drop them
                server.force_exit = True
                thread.join(timeout)
        if sock is not None:
            sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RegistryStartError(f"cannot listen on {host}:{port}: {exc}") from exc
    return sock
