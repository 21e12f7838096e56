"""The relay: one session's two pumps and the actions they carry out.

::

    client frame ─► edge.inbound (checks, beta→GA, compat) ─► translate_inbound ─► actions
    upstream frame ─► translate_outbound ─► actions
    actions: ToClient ─► edge.outbound (GA→beta) ─► client
             ToUpstream ─► upstream.send     Schedule ─► timer ─► translate_inbound
             Close ─► error event, then close both sides

A frame is handled start to finish without awaiting: its sends go through
each side's :class:`~rt_core.outbox.Outbox`, which writes at once when the
socket can take it.  So when both sockets can deliver messages by callback
(picows, :mod:`rt_core.wsdirect`) the relay runs inside those callbacks --
no pump task, no wake-up, no extra loop turn per frame -- and a socket whose
write buffer fills pauses reading on the other side (TCP backpressure).
Otherwise (the websockets library, Gemini's reconnecting upstream, Bedrock's
stream) a pump task per side reads, handles the frame the same way, and
waits for room before reading on.  Timers, pumps and queued writers run in
one task group; ending the session cancels it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import anyio

from . import dispatch
from .edge import ClientEdge
from .errors import ClientEventError, SessionClosed, UpstreamClosed
from .eventlog import EventLogger
from .events import (
    Close, Event, Schedule, Signal, TimerFired, ToClient, ToUpstream, UpstreamLost, dumps, error_object, plain_append,
)
from .outbox import Outbox
from .plugins import PluginHost
from .router import ConnectAttempt, Connection, Router
from .session import Session
from .upstream import Upstream

__all__ = ["ClientChannel", "ClientGone", "Relay", "SessionStats", "VERBATIM_DELTAS", "client_close_code"]

log = logging.getLogger(__name__)


def _cannot_send_now(item: Any) -> bool:
    """An outbox's immediate write for a side that has none: always queue."""
    return False


class ClientGone(Exception):
    """The client connection is closed."""


class ClientChannel(Protocol):
    """The client side of a session, whatever WebSocket library carries it.

    Optional, found by name: ``direct``, a :mod:`rt_core.wsdirect` connection
    (read in its callbacks, written without waiting), or ``send_now``,
    ``writable`` and ``write_paused`` on the channel (see
    :class:`~rt_core.outbox.Outbox`).
    """

    async def recv(self) -> str | bytes: ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass
class SessionStats:
    frames_in: int = 0
    bytes_in: int = 0
    frames_out: int = 0
    bytes_out: int = 0
    usage: dict[str, Any] = field(default_factory=dict)

    def add_usage(self, usage: Any) -> None:
        """Add one ``response.done`` usage: every integer, nested details included
        (``input_token_details.audio_tokens`` ...)."""
        if isinstance(usage, dict):
            _add_counts(self.usage, usage)


def _add_counts(into: dict[str, Any], usage: dict[str, Any]) -> None:
    for k, v in usage.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            into[k] = into.get(k, 0) + v
        elif isinstance(v, dict):
            sub = into.get(k)
            if not isinstance(sub, dict):
                sub = into[k] = {}
            _add_counts(sub, v)


def client_close_code(upstream_code: int) -> int:
    """The close code to give the client when the upstream closed with ``upstream_code``.

    Codes that must not be sent on the wire (1005, 1006, 1015) and unknown
    ones become 1014 (bad gateway).
    """
    if upstream_code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014):
        return upstream_code
    if 3000 <= upstream_code <= 4999:
        return upstream_code
    return 1014


APPEND = "input_audio_buffer.append"
#: Upstream events that come many times a second in a response: the ones the
#: relay's shortcut may pass to the client unparsed (:meth:`Relay._upstream_route`).
VERBATIM_DELTAS = (
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "conversation.item.input_audio_transcription.delta",
)

#: Relay.mode by (client read in callbacks, upstream read in callbacks).
_MODES = {(True, True): "direct", (True, False): "client-direct", (False, True): "upstream-direct",
          (False, False): "pumps"}


class Relay:
    """Runs one session from upstream connect to close."""

    def __init__(
        self,
        session: Session,
        client: ClientChannel,
        edge: ClientEdge,
        host: PluginHost,
        router: Router,
        logger: EventLogger,
    ) -> None:
        self.session = session
        self.client = client
        self.edge = edge
        self.host = host
        self.router = router
        self.logger = logger
        self.stats = SessionStats()
        self.upstream: Upstream | None = None
        self.close_code = 1000
        self.close_reason = ""
        self.closing = False
        self.client_gone = False
        self.attempts: list[ConnectAttempt] = []
        self.connection: Connection | None = None
        #: How the sides are read: "direct" (both in their sockets' callbacks),
        #: "client-direct", "upstream-direct" or "pumps" (both by pump tasks).
        self.mode = ""
        #: The shortcuts in use (docs/hooks.md): "verbatim appends" or "quick
        #: appends" (client audio), "verbatim deltas" or "quick deltas" (the
        #: upstream's high-rate frames); see ``_client_route``/``_upstream_route``.
        self.shortcuts: tuple[str, ...] = ()
        self._tg: Any = None
        self._timers: dict[str, anyio.CancelScope] = {}
        self._inbound: Any = None
        self._outbound: Any = None
        #: ``_inbound``/``_outbound`` bound to this session: called with the event
        #: (or frame) alone, on every frame (see ``_bind_translation``).
        self._translate_in: Any = None
        self._translate_out: Any = None
        #: Where each client message / upstream frame goes: the general path, or
        #: a shortcut for the frames the translator passes through unchanged.
        self._on_client: Any = self._on_client_message
        self._on_upstream: Any = self._on_upstream_frame
        self._to_client_box = Outbox(client, self._client_send_failed)
        self._to_upstream_box: Outbox | None = None
        #: Set once the session is ending: frames still arriving in callbacks are dropped
        #: (as cancelled pumps would), and the upstream's close is no news.
        self._ended = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        s = self.session
        started = time.monotonic()
        started_at = time.time()
        try:
            try:
                conn = self.connection = await self.router.connect(s, self.attempts)
            except SessionClosed as exc:
                self.close_code, self.close_reason = exc.code, exc.reason
                self._log_start(started_at)
                if exc.error is not None:
                    await self._send_client_raw(self._error_frame(exc.error))
                return
            up = self.upstream = conn.upstream
            self._to_upstream_box = Outbox(up, self._upstream_send_failed)
            self.stats.frames_out += conn.frames
            self.stats.bytes_out += conn.bytes
            assert s.deployment is not None
            self._inbound, self._outbound = self.host.session_callers(s.deployment.provider)
            self._bind_translation()
            (self._on_client, client_route), (self._on_upstream, upstream_route) = (
                self._client_route(), self._upstream_route())
            self.shortcuts = tuple(name for name in (client_route, upstream_route) if name)
            self._log_start(started_at)
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self._to_client_box.start(tg.start_soon)
                self._to_upstream_box.start(tg.start_soon)
                # The translator already saw UpstreamOpened (and, for passthrough
                # providers, the upstream's first frames) in the router: carry out
                # what it returned before anything newer can reach the client.
                self._execute(conn.actions)
                self._start_reading(tg)
                log.info("session %s open: model=%s deployment=%s dialect=%s client=%s attempts=%d relay=%s shortcuts=%s",
                         s.id, s.model, s.deployment.label, s.dialect, s.client.name, len(self.attempts), self.mode,
                         ",".join(self.shortcuts) or "-")
        except Exception as exc:
            # A bug must end one session cleanly, never crash the server.
            self._internal_error(exc)
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish(started)

    def _start_reading(self, tg: Any) -> None:
        """Read each side in its socket's callbacks when it can, else with a pump task."""
        if self.closing or self._to_upstream_box is None:
            return
        cdirect = getattr(self.client, "direct", None)
        udirect = getattr(self.upstream, "direct", None)
        if cdirect is not None:
            cdirect.on_closed = self._client_closed
            self._read_in_callbacks(cdirect, self._on_client, self._to_upstream_box)
        else:
            tg.start_soon(self._client_pump)
        if udirect is not None:
            udirect.on_closed = self._upstream_closed
            self._read_in_callbacks(udirect, self._on_upstream, self._to_client_box)
        else:
            tg.start_soon(self._upstream_pump)
        self.mode = _MODES[cdirect is not None, udirect is not None]
        if cdirect is not None and cdirect.is_gone():
            self._client_closed()
        elif udirect is not None and udirect.is_gone():
            self._upstream_closed()
        # The session lives until a callback, a pump, a timer or shutdown ends it (``_end``).
        tg.start_soon(anyio.sleep_forever)

    def _read_in_callbacks(self, source: Any, handle: Any, destination: Outbox) -> None:
        """Handle each of ``source``'s messages inside its socket callback.

        After each one, if ``destination`` is congested (its write buffer is
        over the mark, or sends are queued), ``source`` stops reading until
        it has drained: TCP backpressure instead of growing memory.  A bug in
        handling ends this session, never the socket's reader.
        """
        paused = False

        async def resume() -> None:
            nonlocal paused
            await destination.drained()
            paused = False
            source.pause_reading(False)

        # destination.congested(), inline: this runs for every frame.
        queue, high, pressure = destination.queue, destination.high, destination.pressure

        def on_message(message: Any) -> None:
            nonlocal paused
            if self._ended:
                return
            try:
                handle(message)
            except Exception as exc:
                self._internal_error(exc)
                return
            if not paused and (pressure.write_paused or len(queue) > high) and self._tg is not None:
                paused = True
                source.pause_reading(True)
                self._tg.start_soon(resume)

        for message in source.deliver_to(on_message):
            on_message(message)

    def _internal_error(self, exc: BaseException) -> None:
        log.exception("session %s failed: %r", self.session.id, exc, exc_info=exc)
        self._close(Close(1011, "internal error", error_object(
            f"Internal gateway error ({type(exc).__name__}); the session was closed.",
            code="internal_error", type="server_error")))

    async def shutdown(self, reason: str = "server shutting down") -> None:
        """End the session from outside (server shutdown): close code 1001."""
        self._close(Close(1001, reason, error_object(
            "The gateway is shutting down; reconnect to continue.", code="server_shutting_down", type="server_error")))

    def _log_start(self, started_at: float) -> None:
        s = self.session
        self.logger.record("session.start", s, payload={
            "started_at": started_at,
            "dialect": s.dialect,
            "client_key": s.client.key_fingerprint,
            "routing": self.router.decision(s, self.attempts, self.connection),
        })

    async def _finish(self, started: float) -> None:
        self.router.release(self.connection)
        self._to_client_box.stop()
        up = self.upstream
        if up is not None:
            if self._to_upstream_box is not None:
                self._to_upstream_box.stop()
                if not self.client_gone:
                    await self._to_upstream_box.flush(1)
            reason = "client disconnected" if self.client_gone else (self.close_reason or "session closed")
            with anyio.move_on_after(1):
                await up.aclose(1000 if self.close_code in (1000, 1001) else 1001, reason)
        if not self.client_gone:
            await self._to_client_box.flush(1)
            with anyio.move_on_after(2):
                try:
                    await self.client.close(self.close_code, self.close_reason[:120])
                except Exception:
                    log.debug("closing client of %s failed", self.session.id, exc_info=True)
        s = self.session
        duration = time.monotonic() - started
        st = self.stats
        log.info(
            "session %s closed: model=%s deployment=%s duration=%.1fs code=%s reason=%r "
            "in=%d frames/%d B out=%d frames/%d B",
            s.id, s.model, s.deployment.label if s.deployment else None, duration, self.close_code,
            self.close_reason, st.frames_in, st.bytes_in, st.frames_out, st.bytes_out,
        )
        self.logger.record("session.end", s, payload={
            "duration_s": round(duration, 3),
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "client_disconnected": self.client_gone,
            "frames_in": st.frames_in, "bytes_in": st.bytes_in,
            "frames_out": st.frames_out, "bytes_out": st.bytes_out,
            "usage": st.usage,
            "attempts": [a.to_dict() for a in self.attempts],
            "log_dropped": self.logger.dropped,
            "log_errors": self.logger.errors,
        })

    def _end(self) -> None:
        """Stop everything the session runs (pumps, timers, writers); ``run`` then finishes."""
        self._ended = True
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ reading

    async def _client_pump(self) -> None:
        box = self._to_upstream_box
        assert box is not None
        while True:
            try:
                message = await self.client.recv()
            except ClientGone:
                self._client_closed()
                return
            self._on_client(message)
            await box.drained()

    async def _upstream_pump(self) -> None:
        assert self.upstream is not None
        up = self.upstream
        box = self._to_client_box
        while True:
            try:
                frame = await up.receive()
            except UpstreamClosed as exc:
                self._upstream_lost(exc.code, exc.reason)
                return
            self._on_upstream(frame)
            await box.drained()

    def _client_closed(self) -> None:
        self.client_gone = True
        self.close_reason = self.close_reason or "client disconnected"
        self._end()

    def _upstream_closed(self) -> None:
        if self._ended:
            return  # closed as part of ending the session
        code, reason = self.upstream.received_close() or (1006, "connection lost without a close frame")  # type: ignore[union-attr]
        self._upstream_lost(code, reason)

    # ------------------------------------------------------------------ shortcuts

    def _client_route(self) -> tuple[Any, str]:
        """What handles each client message, and the shortcut's name ("" for none).

        :meth:`_on_client_message` (the general path), or, when no other plugin
        translates and the event log does not record appends, a shortcut for
        plain audio appends (docs/hooks.md):

        * "verbatim appends": the translator forwards appends unchanged
          (``verbatim_appends``): a plain append (:meth:`ClientEdge.passes_append`)
          is written straight upstream;
        * "quick appends": the translator turns the audio into its upstream
          frame itself (``quick_append``): the append's audio text
          (:meth:`ClientEdge.append_audio`) goes to it, and the frame it
          returns straight upstream; ``None`` sends the message the general way.

        Either skips the event, the hooks and the actions the general path builds.
        """
        general = self._on_client_message
        translator = self.session.translator
        if not self._only_dispatch() or self.logger.wants(APPEND):
            return general, ""
        box = self._to_upstream_box
        assert box is not None
        # box.put, inline (Outbox.send_now): one call fewer per frame
        queue, send_now, enqueue = box.queue, box.send_now or _cannot_send_now, box.enqueue
        stats = self.stats
        if getattr(translator, "verbatim_appends", False):
            passes_append = self.edge.passes_append

            def verbatim_append(message: str | bytes) -> None:
                if passes_append(message):
                    stats.frames_in += 1
                    stats.bytes_in += len(message)
                    if queue or not send_now(message):
                        enqueue(message)
                else:
                    general(message)

            return verbatim_append, "verbatim appends"
        quick = getattr(translator, "quick_append", None)
        if quick is None:
            return general, ""
        append_audio = self.edge.append_audio

        def quick_append(message: str | bytes) -> None:
            audio = append_audio(message)
            try:
                frame = None if audio is None else quick(audio)
            except Exception as exc:  # as the general path answers a translator's failure
                stats.frames_in += 1
                stats.bytes_in += len(message)
                event = plain_append(message) if type(message) is str else None
                self._translator_failed("translate_inbound", exc, event or Event.from_data({"type": APPEND}))
                return
            if frame is None:
                general(message)
                return
            stats.frames_in += 1
            stats.bytes_in += len(message)
            if queue or not send_now(frame):
                enqueue(frame)

        return quick_append, "quick appends"

    def _upstream_route(self) -> tuple[Any, str]:
        """What handles each upstream frame, and the shortcut's name ("" for none).

        :meth:`_on_upstream_frame` (the general path), or, when no other plugin
        translates, a shortcut for high-rate client events that neither the
        client edge (:meth:`ClientEdge.passes_verbatim`), the usage count nor
        the event log needs to see (docs/hooks.md):

        * "verbatim deltas": the translator passes upstream events on unchanged
          (``verbatim_outbound``): the deltas of :data:`VERBATIM_DELTAS` go
          straight to the client;
        * "quick deltas": the translator turns its upstream's high-rate frames
          into client events itself (``quick_outbound``, making only the types
          in ``quick_outbound_types``): the text it returns goes straight to
          the client; ``None`` sends the frame the general way.
        """
        general = self._on_upstream_frame
        translator = self.session.translator
        if not self._only_dispatch():
            return general, ""
        edge, logger = self.edge, self.logger
        box = self._to_client_box
        queue, send_now, enqueue = box.queue, box.send_now or _cannot_send_now, box.enqueue  # box.put, inline
        stats = self.stats
        if getattr(translator, "verbatim_outbound", False):
            types = [t for t in VERBATIM_DELTAS if edge.passes_verbatim(t) and not logger.wants(t)]
            if not types:
                return general, ""
            heads = tuple(head % t for t in types for head in ('{"type":"%s"', '{"type": "%s"'))

            def verbatim_delta(frame: Any) -> None:
                if type(frame) is str and frame.startswith(heads):
                    stats.frames_out += 1
                    stats.bytes_out += len(frame)
                    if not self.client_gone and (queue or not send_now(frame)):
                        enqueue(frame)
                else:
                    general(frame)

            return verbatim_delta, "verbatim deltas"
        quick = getattr(translator, "quick_outbound", None)
        made: tuple[str, ...] = tuple(getattr(translator, "quick_outbound_types", ()))
        if quick is None or not made or not all(edge.passes_verbatim(t) and not logger.wants(t) for t in made):
            return general, ""

        def quick_delta(frame: Any) -> None:
            try:
                text = quick(frame)
            except Exception as exc:  # as the general path answers a translator's failure
                stats.frames_out += 1
                self._translator_failed("translate_outbound", exc, None)
                return
            if text is None:
                general(frame)
                return
            stats.frames_out += 1
            stats.bytes_out += len(frame)
            if not self.client_gone and (queue or not send_now(text)):
                enqueue(text)

        return quick_delta, "quick deltas"

    def _bind_translation(self) -> None:
        """Call the translator's own ``inbound``/``outbound`` when the built-in
        dispatch is all the hooks would run (the same call, one fewer per frame),
        else the hook callers with this session."""
        translator = self.session.translator
        if self._only_dispatch() and translator is not None:
            self._translate_in, self._translate_out = translator.inbound, translator.outbound
            return
        inbound, outbound, s = self._inbound, self._outbound, self.session
        self._translate_in = lambda event: inbound(session=s, event=event)
        self._translate_out = lambda frame: outbound(session=s, frame=frame)

    def _only_dispatch(self) -> bool:
        """True when the built-in dispatch is all that translates this session's frames."""
        return self._inbound is dispatch.translate_inbound and self._outbound is dispatch.translate_outbound

    # ------------------------------------------------------------------ handling one frame

    def _on_client_message(self, message: str | bytes) -> None:
        stats = self.stats
        stats.frames_in += 1
        stats.bytes_in += len(message)
        try:
            events, edge_actions = self.edge.inbound(message)
        except ClientEventError as exc:
            self._client_error(exc, None)
            return
        if edge_actions:
            self._execute(edge_actions)
        for event in events:
            self._inbound_event(event)

    def _inbound_event(self, event: Event | Signal) -> None:
        s = self.session
        if isinstance(event, Event) and self.logger.wants(event.type):
            self.logger.record("event", s, direction="client->upstream", event_type=event.type, payload=event.data)
        try:
            actions = self._translate_in(event)
        except Exception as exc:
            self._translator_failed("translate_inbound", exc, event)
            return
        if actions is None:
            if isinstance(event, Event):
                self._client_error(ClientEventError(
                    f"The provider does not support {event.type!r}.", code="unsupported_event", param="type"), event)
            return
        self._execute(actions)

    def _on_upstream_frame(self, frame: Any) -> None:
        stats = self.stats
        stats.frames_out += 1
        if isinstance(frame, (str, bytes)):
            stats.bytes_out += len(frame)
        try:
            actions = self._translate_out(frame)
        except Exception as exc:
            self._translator_failed("translate_outbound", exc, frame if isinstance(frame, Signal) else None)
            return
        if actions:
            self._execute(actions)

    def _upstream_lost(self, code: int, reason: str) -> None:
        s = self.session
        actions: Sequence[Any] | None
        try:
            actions = self._translate_out(UpstreamLost(code, reason))
        except Exception as exc:
            log.warning("session %s: translate_outbound failed on upstream close: %r", s.id, exc)
            actions = None
        actions = list(actions or [])
        if not any(isinstance(a, Close) for a in actions):
            label = s.deployment.label if s.deployment else "upstream"
            actions.append(Close(client_close_code(code), reason or "upstream closed", error_object(
                f"The upstream {label} closed the connection with code {code}" + (f": {reason}" if reason else "."),
                code="upstream_closed", type="server_error")))
        self._execute(actions)

    # ------------------------------------------------------------------ actions

    def _execute(self, actions: Sequence[Any]) -> None:
        for action in actions:
            kind = type(action)
            if kind is ToUpstream:
                self._to_upstream_box.put(action.frame)  # type: ignore[union-attr]
            elif kind is ToClient:
                self._to_client(action.event)
            elif kind is Schedule:
                self._schedule(action)
            elif kind is Close:
                self._close(action)
            else:
                raise TypeError(f"unknown action {action!r}")

    def _to_client(self, event_or_dict: Event | dict[str, Any]) -> None:
        event = Event.from_data(event_or_dict) if type(event_or_dict) is dict else cast(Event, event_or_dict)
        try:
            text = self._client_text(event)
        except ValueError as exc:
            if event.is_parsed:
                raise  # not the parse: a bug, which ends the session (on_message)
            # An event a translator passed on unparsed (its type peeked) whose text
            # is not JSON rt can relay, found when something needed its fields.
            log.warning("session %s: the upstream sent an unreadable %r event: %s", self.session.id, event.type, exc)
            text = self.edge.outbound(Event.from_data(self._error_frame(error_object(
                f"The upstream sent an invalid {event.type!r} event ({exc}); it was dropped.",
                code="upstream_invalid_frame", type="server_error"))))
        if text is not None and not self.client_gone:
            self._to_client_box.put(text)

    def _client_text(self, event: Event) -> str | None:
        """What the client is sent for ``event`` (None: nothing), counting its usage and logging it."""
        t = event.type
        if t == "response.done":
            resp = event.data.get("response")
            if isinstance(resp, dict):
                self.stats.add_usage(resp.get("usage"))
        if self.logger.wants(t):
            self.logger.record("event", self.session, direction="upstream->client", event_type=t, payload=event.data)
        return self.edge.outbound(event)

    def _client_send_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ClientGone):
            self._client_closed()
        else:
            log.warning("session %s: sending to the client failed: %r", self.session.id, exc)

    def _upstream_send_failed(self, exc: BaseException) -> None:
        if isinstance(exc, UpstreamClosed):
            # The receive side sees the close too and ends the session.
            log.debug("session %s: send on a closed upstream", self.session.id)
        else:
            self._internal_error(exc)

    def _error_frame(self, error: dict[str, Any]) -> dict[str, Any]:
        """Wrap an error object (``error_object``) into an OpenAI ``error`` event."""
        return {"type": "error", "event_id": self.session.ids("event"), "error": error}

    async def _send_client_raw(self, event: dict[str, Any]) -> None:
        try:
            await self.client.send(dumps(event))
        except ClientGone:
            self.client_gone = True

    def _client_error(self, exc: ClientEventError, event: Event | Signal | None) -> None:
        err = exc.to_error()
        if err.get("event_id") is None and isinstance(event, Event):
            try:
                err["event_id"] = event.event_id
            except ValueError:
                pass
        self._to_client(self._error_frame(err))

    def _translator_failed(self, hook: str, exc: Exception, event: Any) -> None:
        """A translator raised while handling ``event`` (None: an upstream frame):
        a ClientEventError is the client's error, anything else the plugin's;
        either way the session goes on."""
        if isinstance(exc, ClientEventError):
            self._client_error(exc, event if isinstance(event, Event) else None)
        else:
            self._plugin_failure(hook, exc, event)

    def _plugin_failure(self, hook: str, exc: Exception, event: Any) -> None:
        s = self.session
        plugin = s.deployment.provider if s.deployment else "?"
        log.error("session %s: plugin %r raised in %s: %r", s.id, plugin, hook, exc, exc_info=exc)
        eid = event.event_id if isinstance(event, Event) else None
        self._to_client(self._error_frame(error_object(
            f"Internal error in the {plugin} provider while handling "
            f"{getattr(event, 'type', 'an upstream frame')!r}; the session continues.",
            code="internal_error", type="server_error", event_id=eid)))

    def _close(self, action: Close) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code, self.close_reason = action.code, action.reason
        if action.error is not None and not self.client_gone:
            self._to_client(self._error_frame(action.error))
        self._end()

    def _schedule(self, action: Schedule) -> None:
        name = action.signal.name
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        if action.delay < 0 or self._tg is None:
            return
        scope = anyio.CancelScope()
        self._timers[name] = scope
        self._tg.start_soon(self._timer, scope, action.delay, action.signal)

    async def _timer(self, scope: anyio.CancelScope, delay: float, signal: TimerFired) -> None:
        with scope:
            await anyio.sleep(delay)
            if self._timers.get(signal.name) is scope:
                del self._timers[signal.name]
            if signal.name.startswith("rt.edge."):
                for event in self.edge.on_timer(signal):
                    self._inbound_event(event)
            else:
                self._inbound_event(signal)
