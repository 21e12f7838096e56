"""The client edge: where a client's frames become GA events, and back.

Everything that depends on *which client* is talking lives here, once, for
every provider:

* framing checks (binary frames, oversize frames, malformed JSON, no ``type``)
  answered with OpenAI-style ``error`` events while the session goes on;
* the beta dialect, converted to GA on the way in and back on the way out;
* compatibility with clients written from LiteLLM's docs: Chat-Completions
  shaped tools, unknown ``session.update`` fields (dropped with a warning),
  beta-style session fields sent by GA clients, a missing ``session.type``,
  and the non-OpenAI ``input_audio_buffer.end`` event (commit + reply, unless
  the upstream's own turn detection already replied -- never two replies).
"""

from __future__ import annotations

import logging
from typing import Any

from . import dialect
from .errors import ClientEventError
from .events import Action, Event, Schedule, TimerFired, append_audio_span, dumps, plain_append

__all__ = ["ClientEdge", "normalize_tools"]

log = logging.getLogger(__name__)

#: GA ``session`` keys (realtime and transcription sessions); others are dropped.
GA_SESSION_KEYS = frozenset(
    {"type", "model", "instructions", "output_modalities", "audio", "tools", "tool_choice",
     "max_output_tokens", "include", "prompt", "reasoning", "tracing", "truncation",
     "parallel_tool_calls", "object", "id", "expires_at", "client_secret",
     # Not GA, but kept for translated providers (beta clients send it; Gemini and Nova use it).
     "temperature"}
)
#: Beta-dialect session keys a GA client may still send (LiteLLM's docs do).
BETA_SESSION_KEYS = frozenset(
    {"modalities", "voice", "input_audio_format", "output_audio_format", "input_audio_transcription",
     "input_audio_noise_reduction", "turn_detection", "max_response_output_tokens", "speed"}
)

_END_PREFIX = "rt_end_"
END_TIMER = "rt.edge.end_reply"


def normalize_tools(tools: Any, param: str, event_id: str | None) -> Any:
    """Accept Chat Completions tools (``{"type":"function","function":{…}}``)
    beside realtime tools and return the realtime shape."""
    if not isinstance(tools, list):
        raise ClientEventError("tools must be a list", code="invalid_value", param=param, event_id=event_id)
    out = []
    changed = False
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise ClientEventError(
                "each tool must be an object", code="invalid_value", param=f"{param}[{i}]", event_id=event_id
            )
        fn = tool.get("function")
        if tool.get("type", "function") == "function" and isinstance(fn, dict) and "name" not in tool:
            new = {"type": "function", "name": fn.get("name")}
            for k in ("description", "parameters"):
                if k in fn:
                    new[k] = fn[k]
            out.append(new)
            changed = True
        else:
            out.append(tool)
    return out if changed else tools


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class ClientEdge:
    """Per-session client edge.  Pure: messages in, events and actions out.

    :param dialect_name: ``"ga"`` or ``"beta"``.
    :param max_event_bytes: larger frames are refused with an ``error`` event.
    :param ids: the session's id factory.
    :param end_reply_grace: seconds to wait, under server VAD, for the
        upstream's own reply after rt committed the audio for
        ``input_audio_buffer.end`` before asking for one explicitly.
    """

    def __init__(
        self,
        dialect_name: str,
        *,
        max_event_bytes: int,
        ids: Any,
        end_reply_grace: float = 0.6,
        session_id: str = "",
    ) -> None:
        self.beta = dialect_name == "beta"
        self.max_event_bytes = max_event_bytes
        self.ids = ids
        self.end_reply_grace = end_reply_grace
        self.session_id = session_id
        # Turn-taking state for input_audio_buffer.end.
        self.vad = True
        self.create_response = True
        self.uncommitted_audio = False
        self.responded_since_commit = False
        self.end_pending = False
        self.response_active = False

    # ------------------------------------------------------------------ inbound

    def inbound(self, message: str | bytes) -> tuple[list[Event], list[Action]]:
        """One client frame → GA events for the translator (+ edge actions).

        :raises ClientEventError: the frame is rejected; the session goes on.
        """
        if isinstance(message, (bytes, bytearray, memoryview)):
            raise ClientEventError(
                "Binary frames are not supported: send each event as a JSON text frame.",
                code="binary_frame_not_supported",
            )
        if len(message) > self.max_event_bytes and len(message.encode("utf-8", "surrogatepass")) > self.max_event_bytes:
            raise ClientEventError(
                f"The event is {len(message.encode('utf-8', 'surrogatepass'))} bytes; the limit is "
                f"{self.max_event_bytes} bytes.",
                code="event_too_large",
            )
        # Audio appends, most of what clients send, are read without the general parse.
        event = plain_append(message) or Event.from_text(message)
        t = event.type
        if t == "input_audio_buffer.append":
            self.uncommitted_audio = True
            return [event], []
        if self.beta:
            data = dialect.client_to_ga(event.data)
            if data is not event.data:
                event = Event.from_data(data)
                t = event.type
        if t == "session.update":
            event = self._session_update(event)
        elif t == "response.create":
            event = self._response_create(event)
        elif t == "input_audio_buffer.end":
            return self._end(event)
        elif t in ("input_audio_buffer.commit", "input_audio_buffer.clear"):
            self.uncommitted_audio = False
        return [event], []

    def passes_append(self, message: str | bytes) -> bool:
        """True when ``message`` is an audio append to forward as it is (within
        the size limit, spelled the usual way: see
        :func:`~rt_core.events.append_audio_span`), and it is now recorded as
        :meth:`inbound` records one.  False: hand it to :meth:`inbound`.

        For the relay's verbatim route (frames a translator forwards
        unchanged): the outcome of :meth:`inbound` without building the event
        -- except that the audio's characters are left to the upstream, which
        parses the frame itself.
        """
        if type(message) is str and len(message) <= self.max_event_bytes and append_audio_span(message) is not None:
            self.uncommitted_audio = True
            return True
        return False

    def append_audio(self, message: str | bytes) -> str | None:
        """The audio text of ``message`` when it is an append :meth:`passes_append`
        would pass, now recorded as :meth:`inbound` records one; else None
        (hand it to :meth:`inbound`).

        For the relay's quick route: the audio goes to a translator that
        refuses anything but base64, so its characters need not be read here.
        """
        if type(message) is str and len(message) <= self.max_event_bytes:
            span = append_audio_span(message)
            if span is not None:
                self.uncommitted_audio = True
                return message[span[0]:span[1]]
        return None

    def passes_verbatim(self, event_type: str) -> bool:
        """True when :meth:`outbound` returns the text of every ``event_type``
        event unchanged and keeps no state from it (a GA client, a type the
        edge does not watch)."""
        return not self.beta and event_type not in _WATCHED

    def _session_update(self, event: Event) -> Event:
        data = event.data
        eid = event.event_id
        session = data.get("session")
        if session is None:
            session = {}
        if not isinstance(session, dict):
            raise ClientEventError("session must be an object", code="invalid_value", param="session", event_id=eid)
        new = dict(session)
        changed = False
        if "type" not in new:
            new["type"] = "realtime"
            changed = True
        beta_keys = [k for k in new if k in BETA_SESSION_KEYS]
        if beta_keys:
            converted = dialect.session_to_ga({k: new.pop(k) for k in beta_keys})
            converted.pop("type", None)
            new = _merge(new, converted)
            changed = True
        unknown = [k for k in new if k not in GA_SESSION_KEYS]
        for k in unknown:
            new.pop(k)
            changed = True
        if unknown:
            log.warning(
                "session %s: dropped unknown session.update field(s) %s", self.session_id, ", ".join(sorted(unknown))
            )
        if "tools" in new:
            tools = normalize_tools(new["tools"], "session.tools", eid)
            if tools is not new["tools"]:
                new["tools"] = tools
                changed = True
        self._track_turn_detection(new)
        if not changed and session is data.get("session"):
            return event
        return Event.from_data({**data, "session": new})

    def _track_turn_detection(self, session: dict[str, Any]) -> None:
        audio = session.get("audio")
        if not isinstance(audio, dict):
            return
        inp = audio.get("input")
        if not isinstance(inp, dict) or "turn_detection" not in inp:
            return
        td = inp["turn_detection"]
        self.vad = isinstance(td, dict)
        self.create_response = bool(td.get("create_response", True)) if isinstance(td, dict) else False

    def _response_create(self, event: Event) -> Event:
        data = event.data
        resp = data.get("response")
        if isinstance(resp, dict) and "tools" in resp:
            tools = normalize_tools(resp["tools"], "response.tools", event.event_id)
            if tools is not resp["tools"]:
                return Event.from_data({**data, "response": {**resp, "tools": tools}})
        return event

    def _end(self, event: Event) -> tuple[list[Event], list[Action]]:
        """``input_audio_buffer.end``: the user's audio has ended."""
        out: list[Event] = []
        actions: list[Action] = []
        if self.uncommitted_audio:
            out.append(Event.from_data({"type": "input_audio_buffer.commit", "event_id": self.ids(_END_PREFIX[:-1])}))
            self.uncommitted_audio = False
            if self.vad and self.create_response:
                # The upstream's VAD may reply by itself to the committed turn;
                # ask for a reply only if none has started after a grace period.
                self.end_pending = True
                self.responded_since_commit = False
                actions.append(Schedule(self.end_reply_grace, TimerFired(END_TIMER)))
            else:
                out.append(self._response_create_event())
        elif not self.responded_since_commit and not self.response_active:
            if not (self.vad and self.create_response and self.end_pending):
                out.append(self._response_create_event())
        return out, actions

    def _response_create_event(self) -> Event:
        self.responded_since_commit = True
        return Event.from_data({"type": "response.create", "event_id": self.ids(_END_PREFIX[:-1])})

    def on_timer(self, signal: TimerFired) -> list[Event]:
        """The end-of-audio grace period expired: reply if nobody did."""
        if signal.name != END_TIMER or not self.end_pending:
            return []
        self.end_pending = False
        if self.responded_since_commit or self.response_active:
            return []
        return [self._response_create_event()]

    # ------------------------------------------------------------------ outbound

    def outbound(self, event: Event | dict[str, Any]) -> str | None:
        """A GA server event → the text to send in the client's dialect
        (``None``: the client's dialect has no such event, or it is an error
        caused by an event rt itself synthesised)."""
        if isinstance(event, dict):
            event = Event.from_data(event)
        t = event.type
        if t in _WATCHED:
            if self._observe(event) is False:
                return None
        if not self.beta:
            return event.text
        if not event.is_parsed:
            new_type = dialect.BETA_RENAMES.get(t)
            if new_type is not None:
                text = dialect.rename_type_in_text(event.text, t, new_type)
                if text is not None:
                    return text
        converted = dialect.server_to_beta(event.data)
        if converted is None:
            return None
        if converted is event.data:
            return event.text
        return dumps(converted)

    def _observe(self, event: Event) -> bool:
        t = event.type
        if t == "input_audio_buffer.committed":
            self.uncommitted_audio = False
            self.responded_since_commit = False
        elif t == "input_audio_buffer.cleared":
            self.uncommitted_audio = False
        elif t == "response.created":
            self.responded_since_commit = True
            self.response_active = True
        elif t == "response.done":
            self.response_active = False
        elif t == "error":
            err = event.data.get("error")
            eid = err.get("event_id") if isinstance(err, dict) else None
            if isinstance(eid, str) and eid.startswith(_END_PREFIX[:-1]):
                # The upstream refused a commit/response.create that rt sent for
                # input_audio_buffer.end (its own VAD got there first): not the
                # client's error, and the reply it wanted is already coming.
                log.debug("session %s: suppressed upstream error for synthesised %s", self.session_id, eid)
                return False
        elif t in ("session.created", "session.updated"):
            session = event.data.get("session")
            if isinstance(session, dict):
                self._track_turn_detection(session)
        return True


_WATCHED = frozenset(
    {"input_audio_buffer.committed", "input_audio_buffer.cleared", "response.created", "response.done",
     "error", "session.created", "session.updated"}
)

