"""The floor: the least a Python WebSocket gateway on this stack can do per frame.

A minimal relay on picows' native callback API and uvloop, measured by
bench/run.py as the ``floor`` target next to rt, so the report can say how close
rt is to what any Python gateway on the same stack could reach (issue 8 measured
such a relay at ~24 µs of CPU per chunk round trip, a byte-blind C TCP proxy at
~19-20 µs).

For each client WebSocket on ``/v1/realtime?...`` it opens one upstream
connection to ``--upstream`` + the client's path and query (the URL the direct
run uses), forwarding the client's ``Authorization`` header, and then relays
every text, binary and continuation frame verbatim in both directions from
inside the frame callbacks: no parsing, no auth, no routing, no logging.
Frames a client sends before its upstream is connected are copied into a list
and sent in order once it is. A close on either side is passed to the other
(with its code and reason), and either side going away closes the other.
``GET /health/readiness`` answers 200 so the harness can time its start like any
gateway's.

    python bench/floor_relay.py --port P --upstream ws://127.0.0.1:FAKE

It listens on loopback only and exits on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_connect,
    ws_create_server,
)

HEALTH_PATH = "/health/readiness"
RELAYED_PATH = "/v1/realtime"
# Frame kinds carried verbatim; PING/PONG are answered per hop by picows itself.
_DATA = (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION)
# Codes a peer may not put in a close frame of its own: mirrored as a normal close.
_UNSENDABLE = (WSCloseCode.NO_INFO, WSCloseCode.ABNORMAL_CLOSURE)
# Upstream connects in flight, kept referenced until they finish.
_TASKS: set[asyncio.Task[None]] = set()


def _close_pair(frame: WSFrame) -> tuple[WSCloseCode, bytes]:
    code = frame.get_close_code()
    return (WSCloseCode.OK if code in _UNSENDABLE else code), frame.get_close_message()


def _close(transport: WSTransport | None, code: WSCloseCode, reason: bytes = b"") -> None:
    """Send a close frame unless one was already sent, then drop the connection."""
    if transport is None or transport.is_disconnected:
        return
    if not transport.is_close_frame_sent:
        transport.send_close(code, reason)
    transport.disconnect()


class ClientSide(WSListener):
    """The client's connection: opens the upstream, forwards client frames to it."""

    __slots__ = ("upstream_url", "headers", "use_aiofastnet", "client", "upstream", "pending", "closed")

    def __init__(self, upstream_url: str, headers: dict[str, str], use_aiofastnet: bool | None = None) -> None:
        self.upstream_url = upstream_url
        self.headers = headers
        self.use_aiofastnet = use_aiofastnet
        self.client: WSTransport | None = None
        self.upstream: WSTransport | None = None
        # Frames received before the upstream is connected: (kind, payload, fin), in order.
        self.pending: list[tuple[WSMsgType, bytes, bool]] | None = []
        self.closed = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.client = transport
        task = asyncio.get_running_loop().create_task(self._connect_upstream())
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _connect_upstream(self) -> None:
        try:
            await ws_connect(lambda: UpstreamSide(self), self.upstream_url, extra_headers=self.headers,
                             websocket_handshake_timeout=10, use_aiofastnet=self.use_aiofastnet)
        except Exception as exc:  # noqa: BLE001 - any failure to connect closes the client
            reason = f"upstream connect failed: {type(exc).__name__}"[:120].encode()
            _close(self.client, WSCloseCode.INTERNAL_ERROR, reason)

    def upstream_connected(self, upstream: WSTransport) -> None:
        """Called by the upstream side once its handshake is done: flush what waited."""
        if self.closed:
            _close(upstream, WSCloseCode.GOING_AWAY)
            return
        self.upstream = upstream
        pending, self.pending = self.pending, None
        for kind, payload, fin in pending or ():
            upstream.send(kind, payload, fin)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        upstream = self.upstream
        if kind in _DATA:
            if upstream is not None:
                upstream.send(kind, frame.get_payload_as_memoryview(), frame.fin)
            elif self.pending is not None:
                self.pending.append((kind, frame.get_payload_as_bytes(), frame.fin))
        elif kind is WSMsgType.CLOSE:
            code, reason = _close_pair(frame)
            self.closed = True
            _close(upstream, code, reason)
            _close(transport, code)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        _close(self.upstream, WSCloseCode.GOING_AWAY)


class UpstreamSide(WSListener):
    """The upstream connection of one client: forwards upstream frames to the client."""

    __slots__ = ("pair", "client")

    def __init__(self, pair: ClientSide) -> None:
        self.pair = pair
        self.client = pair.client

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.pair.upstream_connected(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind in _DATA:
            client = self.client
            if client is not None:
                client.send(kind, frame.get_payload_as_memoryview(), frame.fin)
        elif kind is WSMsgType.CLOSE:
            code, reason = _close_pair(frame)
            _close(self.client, code, reason)
            _close(transport, code)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        _close(self.client, WSCloseCode.GOING_AWAY)


def make_router(upstream_base: str, use_aiofastnet: bool | None = None) -> Any:
    """The listener factory: health check, the relayed path, 404 for anything else."""
    base = upstream_base.rstrip("/")

    def route(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        path = request.path.decode("latin-1")
        bare = path.split("?", 1)[0]
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            if bare == HEALTH_PATH:
                return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok"), None)
            return None
        if bare != RELAYED_PATH:
            return None
        headers = {name: request.headers[name] for name in ("Authorization", "api-key") if name in request.headers}
        return ClientSide(base + path, headers, use_aiofastnet)

    return route


async def start(host: str, port: int, upstream: str, use_aiofastnet: bool | None = None) -> asyncio.Server:
    """Listen on ``host:port`` (0 = any free port) and relay to ``upstream``.

    ``use_aiofastnet``: None = picows' default (aiofastnet's transports when it is
    installed, as for rt, the fakes and the load generator); False = uvloop's own.
    """
    return await ws_create_server(make_router(upstream, use_aiofastnet), host, port, websocket_handshake_timeout=10,
                                  use_aiofastnet=use_aiofastnet)


async def serve(host: str, port: int, upstream: str, use_aiofastnet: bool | None = None) -> None:
    server = await start(host, port, upstream, use_aiofastnet)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="ws://127.0.0.1:PORT of the upstream (path comes from the client)")
    parser.add_argument("--no-aiofastnet", action="store_true",
                        help="uvloop's own transports even when aiofastnet is installed (picows uses it by default)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the floor relay listens on loopback only")
    if not args.upstream.startswith(("ws://", "wss://")):
        parser.error("--upstream must be a ws:// or wss:// URL")
    import uvloop

    asyncio.run(serve(args.host, args.port, args.upstream, False if args.no_aiofastnet else None),
                loop_factory=uvloop.new_event_loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
