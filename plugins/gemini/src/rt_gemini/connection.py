"""The Gemini connection's life: lazy ``setup``, the outbox, resumption, ``goAway``, errors.

Part of :class:`rt_gemini.translator.GeminiTranslator` (see :mod:`rt_gemini.state`).
The I/O itself is :class:`rt_gemini.upstream.GeminiUpstream`'s: this side only
decides *when* to move to a new connection and with which ``setup``.
"""

from __future__ import annotations

import logging
from typing import Any

from rt_core import Action, Close, Schedule, TimerFired, ToClient, ToUpstream, error_event

from . import wire
from .state import (
    GO_AWAY_TIMER,
    OUTBOX_LIMIT_BYTES,
    SETUP_TIMER,
    TranslatorState,
)
from .upstream import Reconnect

__all__ = ["ConnectionLifecycle"]

log = logging.getLogger(__name__)

#: Gemini close code → (OpenAI error type, error code, client close code).
_CLOSE_CODES: dict[int, tuple[str, str, int]] = {
    1007: ("invalid_request_error", "upstream_invalid_argument", 1007),
    1008: ("invalid_request_error", "upstream_permission_denied", 1008),
    1011: ("server_error", "upstream_internal_error", 1011),
    1013: ("server_error", "upstream_unavailable", 1013),
}
#: Close codes that resuming cannot fix (the request or the credentials are bad).
_FATAL_CODES = frozenset({1007, 1008})


class ConnectionLifecycle(TranslatorState):
    """Set-up, buffering while not ready, moving to new connections, errors."""

    __slots__ = ()

    def _opened(self) -> list[Action]:
        self.phase = "open"
        return [
            ToClient(self.emit("session.created", session=self.config.to_openai(self.session_id))),
            Schedule(self.opts.setup_grace, TimerFired(SETUP_TIMER)),
        ]

    def _fingerprint(self) -> str:
        return wire.setup_frame(self.config.setup(self.opts.setup))

    def _ensure_setup(self, actions: list[Action]) -> None:
        if self.phase == "open":
            self._send_setup(actions)

    def _send_setup(self, actions: list[Action]) -> None:
        self.setup_fingerprint = self._fingerprint()
        self.phase = "setup"
        actions.append(Schedule(-1, TimerFired(SETUP_TIMER)))
        actions.append(ToUpstream(wire.setup_frame(self.config.setup(self.opts.setup, self.handle))))

    def _send(self, actions: list[Action], frame: str) -> None:
        self.content_sent = True
        if self.phase == "ready":
            actions.append(ToUpstream(frame))
            if frame.startswith(wire.AUDIO_FRAME_PREFIX):
                self._remember(frame)
            return
        if self.phase == "open":
            self._send_setup(actions)
        if self.outbox_bytes + len(frame) > OUTBOX_LIMIT_BYTES:
            if not self.outbox_overflowed:
                self.outbox_overflowed = True
                actions.append(ToClient(error_event(
                    "Input arrived faster than Gemini Live could take it while rt was (re)connecting; "
                    "some of it was dropped.", code="input_dropped", type="server_error", ids=self.ids)))
            return
        self.outbox.append(frame)
        self.outbox_bytes += len(frame)

    def _setup_complete(self, actions: list[Action]) -> None:
        if self.phase not in ("setup", "reconnecting"):
            return
        self.phase = "ready"
        self.go_away_pending = False
        for frame in self.outbox:
            actions.append(ToUpstream(frame))
            if frame.startswith(wire.AUDIO_FRAME_PREFIX):
                self._remember(frame)
        self.outbox, self.outbox_bytes, self.outbox_overflowed = [], 0, False
        self._maybe_reconnect(actions)

    def _resumption_update(self, sru: dict[str, Any], actions: list[Action]) -> None:
        handle = sru.get("newHandle")
        if sru.get("resumable", True) and isinstance(handle, str) and handle:
            self.handle = handle
            self._trim_replay()
            self._maybe_reconnect(actions)

    def _trim_replay(self) -> None:
        """A new handle covers the audio Gemini had when it issued the handle.

        Frames still in flight then are not covered, and rt cannot tell which
        they were (AI Studio reports no consumed-message index), so the last
        ``REPLAY_MARGIN_MS`` (half a second at the input rate in force) stay for
        replay: at a turn boundary that is usually silence, harmless to hear twice.
        """
        self._trim_to(self.replay_limits.margin)

    def _trim_to(self, limit: int) -> None:
        kept = self.since_handle
        while self.since_handle_bytes > limit and kept:
            self.since_handle_bytes -= len(kept.popleft())

    def _remember(self, frame: str) -> None:
        """Keep an audio frame until a handle covers it (server VAD only: manual
        turns send their audio inside activity signals, at commit).

        While the user speaks everything since the handle is kept (bounded);
        otherwise only the last couple of seconds, so an idle microphone costs
        little memory.
        """
        if self.config.turn_detection is None:  # not config.vad: one call fewer per audio frame
            return
        kept = self.since_handle
        kept.append(frame)
        size = self.since_handle_bytes + len(frame)
        turn = self.user_turn
        limits = self.replay_limits
        limit = limits.speaking if turn is not None and not turn.committed else limits.idle
        while size > limit and kept:  # as _trim_to(limit), inline on this per-frame path
            size -= len(kept.popleft())
        self.since_handle_bytes = size

    def _idle(self) -> bool:
        # A user still speaking does not count: the audio the handle does not
        # cover is replayed on the new connection.
        return (self.resp is None and not self.activity_open and self.held is None and not self.commit_pending
                and not self.suppress_turn)

    def _maybe_reconnect(self, actions: list[Action]) -> None:
        if self.reconnect_pending is None or self.phase != "ready" or not self._idle():
            return
        if self.handle is None and self.content_sent:
            return  # wait for a handle so the conversation survives
        self._reconnect(actions, self.reconnect_pending)

    def _reconnect(self, actions: list[Action], reason: str) -> None:
        self.reconnect_pending = None
        self.setup_fingerprint = self._fingerprint()
        self.phase = "reconnecting"
        actions.append(Schedule(-1, TimerFired(GO_AWAY_TIMER)))
        replay = tuple(self.since_handle) if self.handle is not None else ()
        setup = wire.setup_frame(self.config.setup(self.opts.setup, self.handle))
        actions.append(ToUpstream(Reconnect(setup, reason, replay)))

    def _force_reconnect(self, actions: list[Action], reason: str) -> None:
        """Reconnect now even if a response is streaming (it is lost)."""
        if self.resp is not None:
            self._finish(actions, "failed", _failed(
                "upstream_reconnected", "Gemini ended its connection during this response; rt resumed the "
                "session on a new connection, but this response could not be completed."))
        self.suppress_turn = False
        self.held = None
        self.commit_pending = False
        if self.activity_open:
            self.activity_open = False  # the new connection starts outside any activity
        if self.handle is None and self.content_sent:
            actions.append(ToClient(error_event(
                "Gemini ended its connection before it offered a session-resumption handle; rt opened a "
                "new session, and the model no longer remembers the conversation.",
                code="conversation_reset", type="server_error", ids=self.ids)))
            self.content_sent = False
        self._reconnect(actions, reason)

    def _go_away(self, ga: dict[str, Any], actions: list[Action]) -> None:
        seconds = wire.parse_duration(ga.get("timeLeft"))
        self.go_away_pending = True
        if self.reconnect_pending is None:
            self.reconnect_pending = "goAway"
        if self._idle() and (self.handle is not None or not self.content_sent):
            self._maybe_reconnect(actions)
            return
        delay = max(0.0, (seconds if seconds is not None else 10.0) - self.opts.go_away_margin)
        actions.append(Schedule(delay, TimerFired(GO_AWAY_TIMER)))

    def _dropped(self, code: int, reason: str) -> list[Action]:
        actions: list[Action] = []
        resumable = (
            self.phase in ("ready", "reconnecting") and code not in _FATAL_CODES
            and (self.handle is not None or not self.content_sent)
            and self.resumptions < self.opts.max_resumptions
        )
        if not resumable:
            return self._fatal(code, reason)
        self.resumptions += 1
        log.info("Gemini closed the connection (%s %s); resuming the session", code, reason)
        self._force_reconnect(actions, f"resume after close {code}")
        return actions

    def _fatal(self, code: int, reason: str) -> list[Action]:
        """Gemini closed the connection and it cannot be resumed."""
        err_type, err_code, client_code = _CLOSE_CODES.get(code, ("server_error", "upstream_closed", 1014))
        message = f"Gemini Live closed the connection with code {code}" + (f": {reason}" if reason else ".")
        return self._end(err_type, err_code, message, client_code, reason or "upstream closed")

    def _reconnect_failed(self, message: str) -> list[Action]:
        """rt itself could not open the new connection (``message`` says why,
        naming the deployment): not Gemini's doing, so not worded as its close."""
        return self._end("server_error", "upstream_reconnect_failed", message, 1014, "reconnect failed")

    def _end(self, err_type: str, err_code: str, message: str, client_code: int, close_reason: str) -> list[Action]:
        """End the session: fail the streaming response, then close with an error."""
        if self.phase == "closed":
            return []
        self.phase = "closed"
        actions: list[Action] = []
        if self.resp is not None:
            self._finish(actions, "failed", _failed(err_code, message))
        actions.append(Close(client_code, close_reason[:120], {
            "type": err_type, "code": err_code, "message": message, "param": None, "event_id": None}))
        return actions


def _failed(code: str, message: str) -> dict[str, Any]:
    return {"type": "failed", "error": {"type": "server_error", "code": code, "message": message}}
