"""Messages delivered by callback on picows: the relay's hot path.

``picows.websockets`` gives rt the ``websockets`` API on picows: each message
is queued, a future is resolved and the reading task wakes up in a later
turn of the event loop, then the send is awaited.  For a relay that forwards
50 audio frames a second per direction per session, that machinery is most
of the cost of a frame and adds a loop turn of latency at each hop.

The connections made here (:class:`DirectServerConnection`,
:class:`DirectClientConnection`) keep that API -- ``recv``, ``send``,
``close``, ``request``, ``close_code`` -- so the handshake, the router's first
reads and every slower path work unchanged, and add:

* :meth:`~_Direct.deliver_to` -- from now on each complete message is handed
  to a plain function inside picows' frame callback (no queue, no task);
  messages already queued are returned so the caller handles them first;
* :meth:`~_Direct.send_now` -- write one message into the socket buffer
  without awaiting;
* ``write_paused`` / :meth:`~_Direct.writable` / :meth:`~_Direct.pause_reading`
  -- the write buffer is over its high water mark / wait until it is not /
  stop reading, so the relay can stop reading the other side (TCP
  backpressure, as awaited sends give).

:func:`serve` and :func:`connect` build them; they follow
``picows.websockets``' own ``serve``/``connect`` (whose connection classes
cannot be swapped after construction) with only the options rt uses.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import picows
from multidict import CIMultiDict
from picows import WSMsgType
from picows.websockets.asyncio.client import _process_proxy
from picows.websockets.asyncio.connection import ClientConnection, ServerConnection
from picows.websockets.asyncio.server import Server, ServerHandshakeConnection
from picows.websockets.compat import Request, Response
from picows.websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from .errors import http_error_body

__all__ = ["DirectClientConnection", "DirectServerConnection", "connect", "serve"]

log = logging.getLogger(__name__)

_SHUTTING_DOWN_BODY = json.dumps(
    http_error_body("The gateway is shutting down.", "server_shutting_down", "server_error")).encode()


def _normalise_upgrade_headers(headers: CIMultiDict[str]) -> None:
    """Spell an upgrade's ``Connection`` and ``Upgrade`` headers as picows wants them.

    picows accepts only ``Connection: upgrade`` and ``Upgrade: websocket``
    exactly; RFC 6455 allows token lists, and Firefox sends ``Connection:
    keep-alive, Upgrade``.  Headers that do not name the upgrade are left as
    they are, for picows to refuse.
    """
    for name, token in (("Connection", "upgrade"), ("Upgrade", "websocket")):
        values = headers.getall(name, [])
        if any(t.strip().lower() == token for v in values for t in v.split(",")):
            headers[name] = token


_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION

#: Queued messages (before :meth:`_Direct.deliver_to`) at which reading pauses,
#: and at which it resumes: the same bounds as websockets' ``max_queue=16``.
QUEUE_HIGH = 16
QUEUE_LOW = 4


class _Direct:
    """What both connection classes add (see the module docstring)."""

    _rt_max: int
    on_closed: Callable[[], None] | None

    def _direct_init(self, max_message_size: int) -> None:
        self._rt_max = max_message_size
        self._rt_queue: deque[str | bytes] = deque()
        self._rt_waiter: asyncio.Future[None] | None = None
        self._rt_handler: Callable[[str | bytes], None] | None = None
        self._rt_parts: list[bytes] | None = None
        self._rt_parts_text = False
        self._rt_read_paused = False
        self._rt_gone = False
        self.write_paused = False
        self.on_closed = None
        self._rt_transport: Any = None  # picows keeps its own attribute C-only
        self._rt_write_waiter: asyncio.Future[None] | None = None

    def on_ws_connected(self, transport: Any) -> None:
        self._rt_transport = transport
        super().on_ws_connected(transport)  # type: ignore[misc]

    # ------------------------------------------------------------------ receiving

    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        t = frame.msg_type
        if frame.rsv1 or not (t is _TEXT or t is _BINARY or t is _CONTINUATION):
            # Control frames (and protocol errors) are picows.websockets' business.
            super().on_ws_frame(transport, frame)  # type: ignore[misc]
            return
        parts = self._rt_parts
        if t is _CONTINUATION:
            if parts is None:
                super().on_ws_frame(transport, frame)  # type: ignore[misc]  # raises: unexpected continuation
                return
            parts.append(frame.get_payload_as_bytes())
            if self._rt_max and sum(map(len, parts)) > self._rt_max:
                self._fail(1009, "message too big")
                return
            if not frame.fin:
                return
            self._rt_parts = None
            payload = b"".join(parts)
            if self._rt_parts_text:
                try:
                    message: str | bytes = payload.decode()
                except UnicodeDecodeError as exc:
                    self._fail(1007, f"{exc.reason} at position {exc.start}")
                    return
            else:
                message = payload
        elif parts is not None:
            super().on_ws_frame(transport, frame)  # type: ignore[misc]  # raises: expected continuation
            return
        elif not frame.fin:
            self._rt_parts = [frame.get_payload_as_bytes()]
            self._rt_parts_text = t is _TEXT
            return
        elif t is _TEXT:
            try:
                message = frame.get_payload_as_utf8_text()
            except UnicodeDecodeError as exc:
                self._fail(1007, f"{exc.reason} at position {exc.start}")
                return
        else:
            message = frame.get_payload_as_bytes()
        handler = self._rt_handler
        if handler is not None:
            handler(message)
            return
        queue = self._rt_queue
        queue.append(message)
        waiter = self._rt_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(queue) >= QUEUE_HIGH and not self._rt_read_paused:
            self._rt_read_paused = True
            self._rt_transport.underlying_transport.pause_reading()

    def _fail(self, code: int, reason: str) -> None:
        tr = self._rt_transport
        tr.send_close(code, reason)
        tr.disconnect(False)

    async def recv(self, decode: bool | None = None) -> str | bytes:
        """The next message (the ``websockets`` API), until :meth:`deliver_to`.

        Text arrives as ``str`` and binary as ``bytes``; ``decode`` is not
        honoured (rt never asks for anything else).
        """
        queue = self._rt_queue
        while not queue:
            if self._rt_gone:
                # Raises the ConnectionClosed that picows.websockets built.
                return await super().recv(decode)  # type: ignore[misc,no-any-return]
            waiter = self._rt_waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._rt_waiter = None
        message = queue.popleft()
        if self._rt_read_paused and len(queue) <= QUEUE_LOW:
            self._rt_read_paused = False
            self._rt_transport.underlying_transport.resume_reading()
        return message

    def deliver_to(self, handler: Callable[[str | bytes], None]) -> list[str | bytes]:
        """Hand every later message to ``handler`` as it arrives; return the queued ones.

        The caller handles the returned messages before it yields to the
        event loop, so order is kept.
        """
        queued = list(self._rt_queue)
        self._rt_queue.clear()
        self._rt_handler = handler
        if self._rt_read_paused:
            self._rt_read_paused = False
            self._rt_transport.underlying_transport.resume_reading()
        return queued

    def pause_reading(self, paused: bool) -> None:
        """Stop or restart reading this socket (the other side is not keeping up)."""
        tr = self._rt_transport
        if tr is None or tr.is_disconnected:
            return
        if paused:
            tr.underlying_transport.pause_reading()
        else:
            tr.underlying_transport.resume_reading()

    # ------------------------------------------------------------------ sending

    def send_now(self, message: str | bytes) -> bool:
        """Write one message without waiting; False when the connection is closed."""
        tr = self._rt_transport
        if tr is None or tr.is_disconnected or tr.is_close_frame_sent:
            return False
        tr.send(_TEXT if type(message) is str else _BINARY, message)
        return True

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        self.write_paused = True

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[misc]
        self.write_paused = False
        self._wake_writer()

    async def writable(self) -> None:
        """Return once the write buffer is below its low water mark (or the socket closed)."""
        while self.write_paused and not self._rt_gone:
            waiter = self._rt_write_waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._rt_write_waiter = None

    def _wake_writer(self) -> None:
        waiter = self._rt_write_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ closing

    def is_gone(self) -> bool:
        """True once the connection is closed (``on_closed`` has been called, or was due)."""
        return self._rt_gone

    def received_close(self) -> tuple[int, str] | None:
        """The close frame the peer sent (code, reason), or None (none arrived)."""
        tr = self._rt_transport
        handshake = tr.close_handshake if tr is not None else None
        rcvd = handshake.recv if handshake is not None else None
        if rcvd is None:
            return None
        return int(rcvd.code), rcvd.reason or ""

    def on_ws_disconnected(self, transport: Any) -> None:
        super().on_ws_disconnected(transport)  # type: ignore[misc]
        self._rt_gone = True
        self._rt_parts = None
        self._wake_writer()
        waiter = self._rt_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        cb = self.on_closed
        if cb is not None:
            self.on_closed = None
            cb()


class DirectServerConnection(_Direct, ServerConnection):
    """A ``picows.websockets`` server connection with callback delivery."""

    def __init__(self, server: Any, *, max_message_size: int, **kwargs: Any) -> None:
        super().__init__(server, max_message_size=max_message_size, **kwargs)
        self._direct_init(max_message_size)


class DirectClientConnection(_Direct, ClientConnection):
    """A ``picows.websockets`` client connection with callback delivery."""

    def __init__(self, *, max_message_size: int, **kwargs: Any) -> None:
        super().__init__(max_message_size=max_message_size, **kwargs)
        self._direct_init(max_message_size)


def _options(ping_interval: float | None, ping_timeout: float | None, close_timeout: float | None,
             max_message_size: int, logger: Any) -> dict[str, Any]:
    return dict(
        permessage_deflate=None, ping_interval=ping_interval, ping_timeout=ping_timeout,
        close_timeout=close_timeout, max_queue=None, write_limit=32768,
        max_message_size=max_message_size, max_frame_size=max_message_size, logger=logger,
    )


class serve:
    """``async with serve(handler, host, port, ...) as server`` on :class:`DirectServerConnection`.

    ``process_request(connection, request)`` may return a response (HTTP
    endpoints, refusals) or None to accept; ``select_subprotocol(connection,
    offered)`` picks the subprotocol.  The server is picows.websockets' own
    ``Server`` (``sockets``, ``close``, ``wait_closed``).
    """

    def __init__(
        self,
        handler: Callable[[Any], Any],
        host: str,
        port: int,
        *,
        process_request: Callable[[Any, Request], Response | None],
        select_subprotocol: Callable[[Any, Sequence[str]], str | None],
        max_size: int,
        ping_interval: float | None,
        ping_timeout: float | None,
        close_timeout: float | None,
        server_header: str,
        compression: None = None,
        open_timeout: float = 10,
    ) -> None:
        if compression is not None:
            raise ValueError("rt's sockets are uncompressed (audio does not compress)")
        self.handler, self.host, self.port = handler, host, port
        self.process_request, self.select_subprotocol = process_request, select_subprotocol
        self.options = _options(ping_interval, ping_timeout, close_timeout, max_size, logging.getLogger("websockets.server"))
        self.server_header, self.open_timeout = server_header, open_timeout
        self._server: Server | None = None

    async def __aenter__(self) -> Server:
        server = self._server = Server(self.handler, logger=self.options["logger"])

        def listener_factory(upgrade_request: picows.WSUpgradeRequest) -> picows.WSUpgradeResponseWithListener:
            request = Request.from_picows(upgrade_request)
            handshake = ServerHandshakeConnection(request)
            refusal = self.process_request(handshake, request)
            if refusal is None and server.close_task is not None:
                refusal = Response(503, "Service Unavailable", CIMultiDict({"Content-Type": "application/json"}),
                                   _SHUTTING_DOWN_BODY)
            if refusal is not None:
                return picows.WSUpgradeResponseWithListener(refusal.to_picows(), None)
            # process_request checked the upgrade as RFC 6455 has it; picows then
            # accepts only these exact values, not the token lists the RFC allows
            # (Firefox sends 'Connection: keep-alive, Upgrade').
            _normalise_upgrade_headers(upgrade_request.headers)
            headers = {"Server": self.server_header}
            offered = [p.strip() for p in (request.headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
            subprotocol = self.select_subprotocol(handshake, offered) if offered else None
            if subprotocol is not None:
                headers["Sec-WebSocket-Protocol"] = subprotocol
            response = Response.from_picows(picows.WSUpgradeResponse.create_101_response(headers))
            connection = DirectServerConnection(
                server, request=request, response=response, subprotocol=subprotocol, **self.options)
            return picows.WSUpgradeResponseWithListener(response.to_picows(), connection)

        raw = await picows.ws_create_server(
            listener_factory, self.host, self.port,
            websocket_handshake_timeout=self.open_timeout, enable_auto_ping=False, enable_auto_pong=True,
            max_frame_size=self.options["max_frame_size"], logger_name=self.options["logger"],
        )
        server.wrap(raw)
        return server

    async def __aexit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def connect(
    url: str,
    *,
    additional_headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    ping_interval: float | None = 20,
    ping_timeout: float | None = 20,
    close_timeout: float | None = 10,
    user_agent_header: str | None = None,
    ssl: Any = None,
    max_size: int | None = None,
    compression: None = None,
    open_timeout: None = None,
) -> DirectClientConnection:
    """Open a :class:`DirectClientConnection` (errors as ``picows.websockets.connect``'s).

    Proxies come from the environment (``HTTPS_PROXY`` ...) as with
    ``websockets``' ``proxy=True``.  No compression, and no open timeout
    of its own: the caller's cancel scope bounds the open.
    """
    if compression is not None or open_timeout is not None:
        raise ValueError("compression and open_timeout are not supported here")
    parsed_secure = url.lower().startswith("wss:")
    headers = list((additional_headers or {}).items())
    if user_agent_header:
        headers.append(("User-Agent", user_agent_header))
    if subprotocols:
        headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    options = _options(ping_interval, ping_timeout, close_timeout, max_size or 0, logging.getLogger("websockets.client"))
    if not max_size:
        options["max_frame_size"] = 2**31 - 1

    def listener_factory(request: picows.WSUpgradeRequest, response: picows.WSUpgradeResponse) -> DirectClientConnection:
        wrapped = Response.from_picows(response)
        chosen = wrapped.headers.get("Sec-WebSocket-Protocol")
        if chosen is not None and chosen not in (subprotocols or ()):
            raise InvalidHandshake(f"the server chose a subprotocol that was not offered: {chosen}")
        return DirectClientConnection(request=Request.from_picows(request), response=wrapped, subprotocol=chosen, **options)

    try:
        _transport, listener = await picows.ws_connect(
            listener_factory, url,
            ssl_context=ssl if parsed_secure else None,
            websocket_handshake_timeout=None,  # the caller bounds the open
            enable_auto_ping=False, enable_auto_pong=True,
            max_frame_size=options["max_frame_size"], extra_headers=headers,
            proxy=_process_proxy(True, parsed_secure), logger_name=options["logger"],
        )
    except picows.WSInvalidURL as exc:
        raise InvalidURI(exc.args[0], exc.args[1] if len(exc.args) > 1 else str(exc)) from exc
    except picows.WSInvalidStatusError as exc:
        assert exc.response is not None
        raise InvalidStatus(Response.from_picows(exc.response)) from exc
    except picows.WSHandshakeError as exc:
        raise InvalidHandshake(str(exc)) from exc
    assert isinstance(listener, DirectClientConnection)
    return listener
