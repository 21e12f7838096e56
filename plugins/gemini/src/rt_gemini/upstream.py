"""The Gemini Live upstream: one WebSocket at a time, swapped on request.

Gemini ends every connection after about ten minutes (with a ``goAway``
warning) and cannot change most of a session's configuration in place, so a
session outlives its connections: the translator decides *when* to move to a
new connection and with which ``setup`` (carrying the session-resumption
handle); this class does the I/O.

* ``send(Reconnect(setup))`` closes the current socket first (so Gemini never
  sees two live connections for one session), opens a new one, sends the new
  ``setup`` and swaps it in.  Frames other tasks send meanwhile are held and
  sent right after the new ``setup``, in order.
* ``receive()`` keeps delivering frames across the swap: when the old socket
  closes because of a swap it waits for the new one and first returns a
  :class:`Reconnected` marker.  If rt could not open the new connection (the
  handshake was refused, it timed out, :meth:`GeminiUpstream.refresh_headers`
  failed) it returns a :class:`ReconnectFailed` marker once, so the client is
  told that *rt* failed, not the provider; later calls raise
  :class:`~rt_core.UpstreamClosed`.  If the new connection opened and the
  provider closed it at once, ``receive()`` raises that close.
* An *unexpected* close is reported as a :class:`ConnectionDropped` marker
  instead of an exception, so the translator can resume the session
  (``Reconnect`` with its handle) or end it with an error; frames sent after the
  drop are held for the resumed connection.
* :meth:`GeminiUpstream.refresh_headers` runs before every connection opens,
  the first and each replacement: the seam for credentials that expire while a
  session lasts (rt-vertex's OAuth tokens).

On picows the relay can instead take frames by callback (:attr:`GeminiUpstream.direct`,
:meth:`GeminiUpstream.deliver_to`): the same frames and markers, in the same
order, handed to a function as they arrive; a swap re-attaches to the new
socket; the final close is reported through ``on_closed``.

Keepalive pings never time out (``ping_timeout=None``): Gemini's pongs arrive
late, and a slow pong is no reason to drop a conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from rt_core import UpstreamClosed, UpstreamConnectError, WebSocketUpstream

__all__ = ["GeminiUpstream", "Reconnect", "Reconnected", "ReconnectFailed", "ConnectionDropped"]

log = logging.getLogger(__name__)

#: Frames held while no socket is usable (a swap in progress, or after a drop).
MAX_HELD_FRAMES = 4096


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Control object (via ``ToUpstream``): move the session to a new connection.

    :ivar setup: the ``setup`` frame for the new connection.
    :ivar reason: why, for the logs.
    :ivar replay: frames to send again right after ``setup``: the input the
        resumption handle does not cover yet (audio sent since it was issued).
        Frames held during the swap that are among them are not sent twice.
    """

    setup: str
    reason: str = ""
    replay: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reconnected:
    """Marker returned by ``receive()``: the new connection is open and its
    ``setup`` was sent (``setupComplete`` follows as a normal frame)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReconnectFailed:
    """Marker returned by ``receive()``: rt could not open the new connection.

    The translator ends the session with ``message`` (which names the
    deployment and says why); the upstream is closed afterwards.
    """

    message: str


@dataclass(frozen=True, slots=True)
class ConnectionDropped:
    """Marker returned by ``receive()``: the connection closed unexpectedly.

    The translator answers with ``ToUpstream(Reconnect(...))`` to resume, or
    with an error and ``Close``.
    """

    code: int
    reason: str


class GeminiUpstream:
    """An :class:`~rt_core.Upstream` for Gemini Live that can change sockets.

    :param url: the Live WebSocket URL (no secret in it).
    :param headers: handshake headers (the key goes here).
    :param name: label for logs and errors (never a secret).
    :param ssl: an ``ssl.SSLContext`` for ``wss://`` (tests), or None.
    :param reconnect_timeout: seconds allowed to open a replacement socket.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str = "gemini",
        ssl: Any = None,
        ping_interval: float | None = 20.0,
        reconnect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.name = name
        self.ssl = ssl
        self.ping_interval = ping_interval
        self.reconnect_timeout = reconnect_timeout
        self._ws: WebSocketUpstream | None = None
        self._generation = 0  # bumped when a new socket is swapped in
        self._swapping = False
        self._changed: anyio.Event | None = None  # set (and dropped) whenever a swap ends
        #: How the last swap failed: the provider's close, or rt's own failure.
        self._swap_error: UpstreamClosed | ReconnectFailed | None = None
        self._dropped_generation = -1  # generation whose socket dropped unexpectedly
        #: The current socket's immediate write and its connection (for ``write_paused``)
        #: while it may be written to -- not during a swap nor after a drop -- else None:
        #: what :meth:`send_now` and :attr:`write_paused` read on every frame, kept by
        #: :meth:`_track_socket` wherever those conditions change.
        self._write_now: Callable[[Any], bool] | None = None
        self._conn: Any = None
        self._held: list[Any] = []
        self._closing = False
        self._pending_marker: Reconnected | None = None
        #: Number of successful swaps, for tests and logs.
        self.reconnects = 0
        # Callback delivery (deliver_to): the relay's handler, its close callback, the final close.
        self._handler: Callable[[Any], None] | None = None
        self.on_closed: Callable[[], None] | None = None
        self._final_close: tuple[int, str] | None = None

    def _socket(self) -> WebSocketUpstream:
        return WebSocketUpstream(
            self.url,
            headers=self.headers,
            ping_interval=self.ping_interval,
            ping_timeout=None,
            name=self.name,
            ssl=self.ssl,
        )

    @property
    def safe_url(self) -> str:
        return self._socket().safe_url

    # ------------------------------------------------------------------ Upstream API

    async def refresh_headers(self) -> None:
        """Update :attr:`headers` for the connection about to open.

        Awaited before every connection: the first (in :meth:`open`) and each
        replacement (goAway, resumption, configuration change), under the same
        time limit as the handshake.  The base class does nothing (an API key
        never changes); a subclass whose credentials expire overrides it --
        rt-vertex puts a currently valid OAuth access token here, since a
        session can outlive any one token.

        :raises ~rt_core.UpstreamConnectError: when no credentials can be had;
            the message must name the deployment (:attr:`name`) and never
            contain a secret.  At session start the router reports it (or fails
            over); on a reconnect the client is told rt could not reconnect.
        """

    async def open(self) -> None:
        await self.refresh_headers()
        ws = self._socket()
        await ws.open()
        self._ws = ws
        self._track_socket()

    def _track_socket(self) -> None:
        """Recompute what :meth:`send_now` and :attr:`write_paused` use: call it
        after every change of the socket, the swap flag or the dropped generation."""
        ws = self._ws
        usable = ws is not None and not self._swapping and self._dropped_generation != self._generation
        self._write_now = ws.immediate_write if usable else None  # type: ignore[union-attr]
        self._conn = ws.direct if usable else None  # type: ignore[union-attr]

    async def send(self, frame: Any) -> None:
        if isinstance(frame, Reconnect):
            await self._swap(frame)
            return
        ws = self._ws
        if ws is None or self._swapping or self._dropped_generation == self._generation:
            self._hold(frame)
            return
        try:
            await ws.send(frame)
        except UpstreamClosed:
            if self._closing:
                raise
            # The receive side reports the drop; keep the frame for a resumed connection.
            self._hold(frame)

    def send_now(self, frame: Any) -> bool:
        """Write ``frame`` without waiting when the current socket can take it.

        False (the relay then awaits :meth:`send`) for a :class:`Reconnect`,
        during a swap or after a drop, and when the socket cannot write now.
        """
        write_now = self._write_now
        return write_now is not None and not isinstance(frame, Reconnect) and write_now(frame)

    @property
    def write_paused(self) -> bool:
        """True while the current socket's write buffer is over its mark."""
        conn = self._conn
        return conn is not None and conn.write_paused

    async def writable(self) -> None:
        """Return once the current socket's write buffer has room."""
        ws = self._ws
        if ws is not None:
            await ws.writable()

    async def receive(self) -> Any:
        while True:
            marker = self._pending_marker
            if marker is not None:
                self._pending_marker = None
                return marker
            ws, generation = self._ws, self._generation
            if ws is None:
                raise UpstreamClosed(1006, "not connected")
            failed = self._swap_failure()
            if failed is not None:
                return failed
            if self._dropped_generation == generation or self._swapping:
                # A drop was reported (or a swap is under way): wait for the new socket.
                await self._wait_for_swap(generation)
                continue
            try:
                return await ws.receive()
            except UpstreamClosed as exc:
                if self._closing:
                    raise
                if self._swapping or generation != self._generation:
                    await self._wait_for_swap(generation)
                    continue
                self._dropped_generation = generation
                self._track_socket()
                log.info("%s: connection closed unexpectedly (%s %s)", self.name, exc.code, exc.reason)
                return ConnectionDropped(exc.code, exc.reason)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        self._closing = True
        self._notify()
        ws = self._ws
        if ws is not None:
            await ws.aclose(code, reason)

    # ------------------------------------------------------------------ callback delivery

    @property
    def direct(self) -> GeminiUpstream | None:
        """Self when the current socket can deliver frames by callback (see
        :mod:`rt_core.wsdirect`), else None (the relay then calls :meth:`receive`)."""
        ws = self._ws
        return self if ws is not None and ws.direct is not None and not self._swapping else None

    def deliver_to(self, handler: Callable[[Any], None]) -> list[Any]:
        """Hand every later frame and marker to ``handler``; return what is already waiting."""
        waiting: list[Any] = []
        if self._pending_marker is not None:
            waiting.append(self._pending_marker)
            self._pending_marker = None
        self._handler = handler
        if self._ws is not None:
            waiting.extend(self._attach(self._ws, self._generation))
        return waiting

    def _attach(self, ws: WebSocketUpstream, generation: int) -> list[Any]:
        conn = ws.direct
        assert conn is not None and self._handler is not None
        conn.on_closed = lambda: self._socket_closed(ws, generation)
        waiting = conn.deliver_to(self._handler)
        if conn.is_gone():
            self._socket_closed(ws, generation)
        return list(waiting)

    def _socket_closed(self, ws: WebSocketUpstream, generation: int) -> None:
        """A socket closed: the end (rt closed it), part of a swap, or a drop (marker)."""
        code, reason = ws.received_close() or (1006, "connection lost without a close frame")
        if self._closing:
            self._end(code, reason)
        elif self._swapping or generation != self._generation:
            return  # the swap reports its own outcome
        elif self._handler is not None:
            self._dropped_generation = generation
            self._track_socket()
            log.info("%s: connection closed unexpectedly (%s %s)", self.name, code, reason)
            self._handler(ConnectionDropped(code, reason))

    def _report_swap_failure(self) -> None:
        """What :meth:`receive` would report after a failed swap, for the handler:
        rt's own failure once, then the end; the provider's close at once."""
        if self._closing:
            return
        try:
            failed = self._swap_failure()
            if failed is None:
                return
            assert self._handler is not None
            self._handler(failed)
            self._swap_failure()  # now counts as closed: raises
        except UpstreamClosed as exc:
            self._end(exc.code, exc.reason)

    def _end(self, code: int, reason: str) -> None:
        if self._final_close is not None:
            return
        self._final_close = (code, reason)
        callback, self.on_closed = self.on_closed, None
        if callback is not None:
            callback()

    def is_gone(self) -> bool:
        return self._final_close is not None

    def received_close(self) -> tuple[int, str] | None:
        """How the session's connection ended (code, reason), once it has."""
        return self._final_close

    def pause_reading(self, paused: bool) -> None:
        ws = self._ws
        conn = ws.direct if ws is not None else None
        if conn is not None:
            conn.pause_reading(paused)

    # ------------------------------------------------------------------ swapping

    def _hold(self, frame: Any) -> None:
        if len(self._held) >= MAX_HELD_FRAMES:
            log.warning("%s: too many frames held while reconnecting; dropping the oldest", self.name)
            del self._held[0]
        self._held.append(frame)

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    def _swap_failure(self) -> ReconnectFailed | None:
        """The last swap's failure, if it failed: rt's own is returned once
        (then the upstream counts as closed), the provider's close is raised."""
        err = self._swap_error
        if err is None or self._swapping:
            return None
        if isinstance(err, ReconnectFailed):
            self._swap_error = UpstreamClosed(1014, "reconnect failed")
            return err
        raise err

    async def _wait_for_swap(self, generation: int) -> None:
        """Wait until a swap ends: a new socket is in, or the swap failed."""
        while self._generation == generation:
            if self._closing:
                raise UpstreamClosed(1000, "closed")
            if self._swap_error is not None and not self._swapping:
                return
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    async def _swap(self, request: Reconnect) -> None:
        """Close the current socket, open a new one, send ``setup``, swap it in.

        Never raises (the caller is a pump executing actions): a failure is
        reported to ``receive()`` (see the module docstring).
        """
        if self._closing or self._swapping:
            return
        self._swapping = True
        self._track_socket()
        self._swap_error = None
        old = self._ws
        new: WebSocketUpstream | None = None
        log.info("%s: reconnecting (%s)", self.name, request.reason or "requested")
        try:
            if old is not None:
                with anyio.move_on_after(2):
                    await old.aclose(1000, request.reason[:100] or "reconnecting")
            try:
                with anyio.fail_after(self.reconnect_timeout):
                    await self.refresh_headers()
                    new = self._socket()
                    await new.open()
            except TimeoutError:
                raise UpstreamConnectError(f"no new connection within {self.reconnect_timeout:g} s") from None
            if self._closing:  # the session ended while we were reconnecting
                return
            await new.send(request.setup)
            self._ws = new
            self._generation += 1
            self.reconnects += 1
            if self._handler is not None:
                self._handler(Reconnected(request.reason))
                for frame in self._attach(new, self._generation):
                    self._handler(frame)
            else:
                self._pending_marker = Reconnected(request.reason)
            try:
                for frame in request.replay:
                    await new.send(frame)
                replayed = {id(f) for f in request.replay}
                while self._held:  # frames sent during the swap, in order, after setup
                    frame = self._held.pop(0)
                    if id(frame) not in replayed:
                        await new.send(frame)
            except UpstreamClosed:
                pass  # the receive side reports the new socket's close
        except UpstreamConnectError as exc:
            log.warning("%s: reconnect failed: %s", self.name, exc.message)
            self._swap_error = self._reconnect_failed(exc.message)
        except UpstreamClosed as exc:
            log.warning("%s: new connection closed at once (%s %s)", self.name, exc.code, exc.reason)
            self._swap_error = exc
        except Exception as exc:  # never let a pump die on a reconnect
            log.exception("%s: reconnect failed", self.name)
            self._swap_error = self._reconnect_failed(f"internal error ({type(exc).__name__})")
        finally:
            if new is not None and new is not self._ws:  # opened but never swapped in
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await new.aclose(1000, "reconnect abandoned")
            self._swapping = False
            self._track_socket()
            self._notify()
            if self._handler is not None:
                self._report_swap_failure()

    def _reconnect_failed(self, reason: str) -> ReconnectFailed:
        """rt's own failure to reconnect, naming the deployment once.

        Connect errors usually start with the deployment's name already
        ("<name> refused the WebSocket handshake …", "<name>: cannot get a
        token …"); that copy is dropped.
        """
        if reason.startswith(self.name):
            reason = reason[len(self.name):].lstrip(": ")
        return ReconnectFailed(f"rt could not reconnect to {self.name}: {reason}"[:500])
