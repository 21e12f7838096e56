"""Upstreams that fail in the ways failover must handle, on loopback.

* :func:`dead_base` -- a port nobody listens on (connection refused).
* :class:`BadUpstream` -- accepts the WebSocket handshake, then fails before
  the session is usable: closes at once (``mode="close"``), sends an OpenAI
  ``error`` event first (``"error"``), or never says anything (``"silent"``).
  The error event is the one api.openai.com sends (validated against the
  SDK's server-event union here, so the fake cannot drift from the protocol).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from pydantic import TypeAdapter
from websockets.asyncio.server import ServerConnection, serve

from openai.types.realtime import RealtimeServerEvent

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)

OVERLOADED_ERROR = {
    "type": "error",
    "event_id": "event_bad_1",
    "error": {"type": "server_error", "code": "server_overloaded", "message": "The server is overloaded (fake).",
              "param": None, "event_id": None},
}
SERVER_EVENT.validate_python(OVERLOADED_ERROR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_base() -> str:
    """An ``api_base`` where the TCP connection is refused."""
    return f"http://127.0.0.1:{free_port()}/v1"


@dataclass
class BadUpstream:
    mode: str = "close"
    port: int = 0
    connections: int = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        if self.mode == "close":
            await ws.close(1011, "fake upstream overloaded")
        elif self.mode == "error":
            await ws.send(json.dumps(OVERLOADED_ERROR))
            await ws.wait_closed()
        else:  # silent
            await ws.wait_closed()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BadUpstream]:
        async with serve(self._handler, "127.0.0.1", 0, compression=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self
            with anyio.move_on_after(1):
                server.close()
