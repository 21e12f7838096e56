"""The OpenAI Realtime (GA) ↔ Gemini Live translator: pure and stateful, one per session.

It never awaits, never reads the clock and never makes ids itself: everything
that happens to the session arrives through :meth:`GeminiTranslator.inbound`
(client events, timers) and :meth:`GeminiTranslator.outbound` (Gemini frames,
upstream signals), and it answers with actions.  The whole session replays
deterministically from a recording (``tests/gemini/golden``).

How the two protocols meet (details in ``docs/providers/gemini.md``):

* **Set-up.**  ``session.created`` goes to the client as soon as the upstream is
  open; Gemini's one-time ``setup`` is built later from the session state: at
  the first ``session.update``, the first content event, or after a grace
  period.  Client input waits in an outbox until ``setupComplete``.
* **Changes Gemini cannot apply in place** (voice, modalities, tools, VAD,
  instructions …) move the session to a new connection with the latest
  session-resumption handle once no response is streaming; so do ``goAway`` and
  unexpected closes (up to ``max_resumptions`` in a row).  Client input is
  buffered meanwhile and replayed after the new ``setupComplete``.
* **Replies.**  Gemini replies by itself (after its VAD ends a turn, after
  ``activityEnd``, after a ``toolResponse``); OpenAI replies once per
  ``response.create`` or per server-VAD turn.  rt keeps exactly one reply per
  request: manual turns send ``activityEnd`` only at ``response.create``; tool
  results are sent at ``response.create``; a ``response.create`` that arrives
  while Gemini's own reply to the same input is coming or streaming is matched
  to that reply instead of asking for a second one; under server VAD with
  ``create_response: false`` Gemini's reply is held until ``response.create``.
"""

from __future__ import annotations

import logging
from typing import Any

from rt_core import (
    Action,
    Event,
    Signal,
    TimerFired,
    ToClient,
    UnsupportedEventError,
    UpstreamLost,
    UpstreamOpened,
    error_event,
)

from . import wire
from .client_side import ClientSide
from .connection import ConnectionLifecycle
from .gemini_side import GeminiSide
from .state import COMMIT_TIMER, GO_AWAY_TIMER, SETUP_TIMER, TranslatorOptions
from .upstream import ConnectionDropped, Reconnected, ReconnectFailed

__all__ = ["GeminiTranslator", "TranslatorOptions"]

log = logging.getLogger(__name__)


class GeminiTranslator(ClientSide, GeminiSide, ConnectionLifecycle):
    """Translates one session.  See the module docstring.

    :param options: deployment behaviour (model name, platform, timers …).
    :param model: the model name the client asked for (shown in the session).
    :param ids: the session's id factory.
    """

    __slots__ = ("_client_handlers",)

    def __init__(self, options: TranslatorOptions, *, model: str, ids: Any) -> None:
        super().__init__(options, model=model, ids=ids)
        self._client_handlers = {
            "session.update": self._session_update,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self._item_create,
            "conversation.item.retrieve": self._item_retrieve,
            "conversation.item.delete": self._item_delete,
            "conversation.item.truncate": self._item_truncate,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": self._output_audio_clear,
        }

    def inbound(self, event: Event | Signal) -> list[Action]:
        if type(event) is Event and event.type == "input_audio_buffer.append":
            return self._append(event)  # the hot path first
        if isinstance(event, TimerFired):
            return self._timer(event)
        if isinstance(event, Signal):
            return []
        if event.type == "input_audio_buffer.append":
            return self._append(event)
        handler = self._client_handlers.get(event.type)
        if handler is None:
            raise UnsupportedEventError(
                f"Gemini Live has no equivalent of {event.type!r}.", param="type", event_id=event.event_id
            )
        if self.phase == "closed":
            return []
        return handler(event)

    def _timer(self, signal: TimerFired) -> list[Action]:
        actions: list[Action] = []
        if signal.name == SETUP_TIMER:
            if self.phase == "open":
                self._send_setup(actions)
        elif signal.name == COMMIT_TIMER:
            if self.commit_pending and (self.resp is None or not self.resp.started):
                self.commit_pending = False
                if self.resp is not None:
                    # The client asked for the reply to its commit and Gemini's VAD
                    # has not produced one: ask explicitly (once).
                    log.debug("Gemini did not end the committed turn; asking for the reply explicitly")
                    self._send(actions, wire.client_content_frame([], True))
                self._maybe_reconnect(actions)
        elif signal.name == GO_AWAY_TIMER:
            if self.go_away_pending and self.phase == "ready":
                self._force_reconnect(actions, "goAway deadline")
        return actions

    def outbound(self, frame: Any) -> list[Action] | None:
        kind = type(frame)
        if kind is bytes or kind is str or isinstance(frame, (bytes, bytearray, memoryview, str)):
            part = wire.server_audio_part(frame) if kind is bytes or kind is str else None
            if part is not None:
                # The reply's audio, dozens of frames a second: no json.loads, no dict walk.
                fast = self._streaming_audio(part[1])
                if fast is not None:
                    return fast
                actions: list[Action] = []
                self._message(wire.audio_part_message(*part), actions)
                return actions
            try:
                m = wire.parse_server_frame(frame)
            except ValueError as exc:
                log.warning("Gemini sent a frame rt cannot read (not a JSON object, or not relayable): %s", exc)
                return [ToClient(error_event(
                    "Gemini Live sent a malformed frame; it was ignored.", code="upstream_protocol_error",
                    type="server_error", ids=self.ids))]
            actions = []
            self._message(m, actions)
            return actions
        if isinstance(frame, UpstreamOpened):
            return self._opened()
        if isinstance(frame, Reconnected):
            return []
        if isinstance(frame, ConnectionDropped):
            return self._dropped(frame.code, frame.reason)
        if isinstance(frame, ReconnectFailed):
            return self._reconnect_failed(frame.message)
        if isinstance(frame, UpstreamLost):
            return self._fatal(frame.code, frame.reason)
        return []
