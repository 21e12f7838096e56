"""The xAI translator: rt-openai's passthrough plus what xAI does differently.

xAI's Voice Agent API is OpenAI-GA-shaped, with differences that break
OpenAI clients.  This translator fixes them, per session:

* the first event is ``conversation.created``: a ``session.created`` is
  synthesised before it (a later real ``session.created`` becomes
  ``session.updated``, so clients see exactly one);
* ``ping`` keep-alives are dropped;
* ``response.done`` carries usage at the top level: it moves into
  ``response.usage``;
* streaming events lack ``output_index``/``content_index`` (and
  ``…transcript.done`` its ``transcript``, ``content_part.done`` its
  ``part``, function-call events their ``item_id``/``response_id``,
  speech events their ``audio_*_ms``, transcription events ``usage``): they
  are filled from what the session has seen;
* ``conversation.item.done`` (GA) is synthesised after each item;
* sessions: ``voice``/``turn_detection`` live at the top level of xAI's
  session, OpenAI voice names are mapped to xAI voices, ``semantic_vad`` is
  rejected or replaced, audio formats pass through when xAI has them (no
  resampling: xAI takes OpenAI's 24 kHz PCM and G.711, and other PCM rates).

Hot path: an ``output_audio.delta`` that already has its index fields (the
observed case) is forwarded as the upstream's text without JSON parsing;
input audio is forwarded untouched.  Unknown event types pass through.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from rt_core import (
    Action,
    ClientEventError,
    Event,
    Signal,
    ToClient,
    ToUpstream,
    UpstreamLost,
    dumps,
    peek_type,
)
from rt_openai import PassthroughTranslator

from .session import (
    default_ga_session,
    input_bytes_per_ms,
    item_to_ga,
    response_params_to_xai,
    response_to_ga,
    session_to_ga,
    session_to_xai,
)
from .voices import DEFAULT_VOICE_MAP

__all__ = ["XAITranslator"]

log = logging.getLogger(__name__)

Json = dict[str, Any]
AUDIO_DELTA = "response.output_audio.delta"
_AUDIO_DELTA_FIELDS = ('"output_index"', '"content_index"', '"response_id"', '"item_id"')
_TEXT_DELTAS = ("response.output_audio_transcript.delta", "response.output_text.delta")
_PART_TYPES = {"output_audio": "audio", "output_text": "text"}
_MAX_REMEMBERED = 256  # bound on per-item memories (committed audio lengths, pending deletes)


@dataclass
class _Output:
    """One output item of a response, as announced by ``response.output_item.added``."""

    response_id: str | None
    output_index: int
    kind: str | None = None
    name: str | None = None
    call_id: str | None = None
    part_types: dict[int, str] = field(default_factory=dict)
    texts: dict[int, list[str]] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)


_AUDIO_DELTA_MARKERS = ('"type":"response.output_audio.delta"', '"type": "response.output_audio.delta"')


def _frame_type(frame: str) -> str | None:
    """The event type without parsing: ``type`` written first (OpenAI's and
    xAI's documented order), or -- for the hot audio delta only -- anywhere
    in the first bytes (no event nests another, so the marker is top-level)."""
    t = peek_type(frame)
    if t is None:
        head = frame[:200]
        if any(m in head for m in _AUDIO_DELTA_MARKERS):
            return AUDIO_DELTA
    return t


def _fill(data: Json, values: Json) -> Json:
    """``data`` with ``values`` set where it has no value (the same dict when none is missing)."""
    missing = {k: v for k, v in values.items() if data.get(k) is None and v is not None}
    return {**data, **missing} if missing else data


class XAITranslator(PassthroughTranslator):
    """Per-session translator between OpenAI GA clients and xAI.

    :param model: the xAI model (for the synthesised ``session.created``).
    :param ids: the session's id factory.
    :param voice_map: OpenAI voice → xAI voice, over the built-in table.
    :param semantic_vad: ``"reject"`` or ``"server_vad"``.
    """

    def __init__(
        self,
        *,
        model: str,
        ids: Callable[[str], str],
        voice_map: dict[str, str] | None = None,
        semantic_vad: str = "reject",
    ) -> None:
        super().__init__("ga", ids=ids)
        self.ids: Callable[[str], str] = ids
        self.model = model
        self.voices = {**DEFAULT_VOICE_MAP, **(voice_map or {})}
        self.semantic_vad = semantic_vad
        self.announced = False
        # Input audio accounting, for audio_*_ms and transcription usage.
        self.bytes_per_ms = 48.0  # 24 kHz PCM16
        self.audio_ms = 0.0
        self.audio_ms_at_commit = 0.0
        self.committed_ms: dict[str, float] = {}
        # Responses and their output items.
        self.response_id: str | None = None
        self.next_output_index = 0
        self.outputs: dict[str, _Output] = {}
        self.calls: dict[str, str] = {}
        self.current_message: str | None = None
        self.open_items: dict[str, str | None] = {}  # item id → response id (None: not a response's)
        self.pending_deletes: deque[str] = deque(maxlen=_MAX_REMEMBERED)
        self._handlers: dict[str, Callable[[Event], list[Action]]] = {
            "conversation.created": self._conversation_created,
            "session.created": self._session_event,
            "session.updated": self._session_event,
            "response.created": self._response_created,
            "response.done": self._response_done,
            "response.output_item.added": self._output_item,
            "response.output_item.done": self._output_item,
            "conversation.item.added": self._item_added,
            "conversation.item.created": self._item_created,
            "conversation.item.retrieved": self._item_created,
            "response.content_part.added": self._content_part,
            "response.content_part.done": self._content_part,
            "response.output_audio.delta": self._content,
            "response.output_audio.done": self._content,
            "response.output_audio_transcript.delta": self._content,
            "response.output_audio_transcript.done": self._content,
            "response.output_text.delta": self._content,
            "response.output_text.done": self._content,
            "response.function_call_arguments.delta": self._call_arguments,
            "response.function_call_arguments.done": self._call_arguments,
            "input_audio_buffer.speech_started": self._speech,
            "input_audio_buffer.speech_stopped": self._speech,
            "input_audio_buffer.committed": self._committed,
            "input_audio_buffer.cleared": self._cleared,
            "conversation.item.input_audio_transcription.completed": self._transcription,
            "conversation.item.input_audio_transcription.updated": self._drop,
            "conversation.item.deleted": self._deleted,
            "error": self._error,
            "ping": self._drop,
        }

    # ------------------------------------------------------------------ client → xAI

    def inbound(self, event: Event | Signal) -> list[Action]:
        if isinstance(event, Signal):
            return []
        t = event.type
        if t == "input_audio_buffer.append":
            self._count_input_audio(event)
            return [ToUpstream(event.text)]
        if t == "session.update":
            return [ToUpstream(self._session_update(event))]
        if t == "response.create":
            response = event.data.get("response")
            if isinstance(response, dict):
                new = response_params_to_xai(response, voices=self.voices, event_id=event.event_id)
                if new is not response:
                    return [ToUpstream(dumps({**event.data, "response": new}))]
        elif t == "conversation.item.delete":
            item_id = event.data.get("item_id")
            if isinstance(item_id, str):
                self.pending_deletes.append(item_id)
        return [ToUpstream(event.text)]

    def _session_update(self, event: Event) -> str:
        data = event.data
        session = data.get("session")
        if not isinstance(session, dict):
            raise ClientEventError("session must be an object.", code="invalid_value", param="session",
                                   event_id=event.event_id)
        xai = session_to_xai(session, voices=self.voices, semantic_vad=self.semantic_vad, event_id=event.event_id)
        rate = input_bytes_per_ms(xai)
        if rate is not None:
            self.bytes_per_ms = rate
        return dumps({**data, "session": xai})

    def _count_input_audio(self, event: Event) -> None:
        """Add the append's audio duration, without parsing when the edge did not."""
        if event.is_parsed:
            audio = event.data.get("audio")
            n = len(audio) if isinstance(audio, str) else 0
        else:
            text = event.text
            key = text.find('"audio"')
            start = text.find('"', key + 7) if key >= 0 else -1
            end = text.find('"', start + 1) if start >= 0 else -1
            n = end - start - 1 if end > start else 0
        self.audio_ms += n * 0.75 / self.bytes_per_ms

    # ------------------------------------------------------------------ xAI → client

    def outbound(self, frame: Any) -> list[Action] | None:
        if isinstance(frame, Signal):
            return None if isinstance(frame, UpstreamLost) else []
        if isinstance(frame, (bytes, bytearray)):
            try:
                frame = bytes(frame).decode("utf-8")
            except UnicodeDecodeError:
                return [self._garbage("a binary frame that is not UTF-8 text")]
        t = _frame_type(frame)
        if t == AUDIO_DELTA and all(f in frame for f in _AUDIO_DELTA_FIELDS):
            return [ToClient(Event(t, frame))]  # hot path: complete already, never parsed
        if t is not None and t not in self._handlers:
            return [ToClient(Event(t, frame))]  # nothing to change
        try:
            event = Event.from_text(frame)
        except ClientEventError as exc:
            return [self._garbage(exc.message)]
        handler = self._handlers.get(event.type)
        if handler is None:
            return [ToClient(event)]
        return handler(event)

    # -- helpers

    @staticmethod
    def _emit(event: Event, data: Json) -> ToClient:
        return ToClient(event if data is event.data else Event.from_data(data))

    def _item_done(self, item: Any, previous_item_id: Any = None) -> ToClient:
        done: Json = {"type": "conversation.item.done", "event_id": self.ids("event"), "item": item}
        if previous_item_id is not None:
            done["previous_item_id"] = previous_item_id
        return ToClient(done)

    def _announce(self, session: Json | None = None) -> ToClient:
        self.announced = True
        ga = session if session is not None else default_ga_session(self.model, self.ids("sess"))
        return ToClient({"type": "session.created", "event_id": self.ids("event"), "session": ga})

    # -- session

    def _drop(self, event: Event) -> list[Action]:
        log.debug("dropped xAI-only event %s", event.type)
        return []

    def _conversation_created(self, event: Event) -> list[Action]:
        out: list[Action] = [] if self.announced else [self._announce()]
        out.append(ToClient(event))
        return out

    def _session_event(self, event: Event) -> list[Action]:
        data = event.data
        session = data.get("session")
        ga = session_to_ga(session) if isinstance(session, dict) else session
        if isinstance(ga, dict):
            rate = input_bytes_per_ms(ga)
            if rate is not None:
                self.bytes_per_ms = rate
        if event.type == "session.created":
            kind = "session.updated" if self.announced else "session.created"
            self.announced = True
            return [ToClient({**data, "type": kind, "session": ga})]
        out: list[Action] = [] if self.announced else [self._announce(ga if isinstance(ga, dict) else None)]
        out.append(ToClient({**data, "session": ga}))
        return out

    # -- responses and items

    def _response_created(self, event: Event) -> list[Action]:
        data = event.data
        response = data.get("response")
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            self.response_id = response["id"]
        self.next_output_index = 0
        new = response_to_ga(response)
        return [self._emit(event, data if new is response else {**data, "response": new})]

    def _response_done(self, event: Event) -> list[Action]:
        data = event.data
        response = data.get("response")
        new_response = response_to_ga(response, data.get("usage"))
        new = {k: v for k, v in data.items() if k != "usage"}
        new["response"] = new_response
        rid = response.get("id") if isinstance(response, dict) else self.response_id
        out: list[Action] = []
        # Items of this response that never got their output_item.done: finish them now.
        items = new_response.get("output") if isinstance(new_response, dict) else None
        by_id = {i.get("id"): i for i in items if isinstance(i, dict)} if isinstance(items, list) else {}
        for item_id, owner in list(self.open_items.items()):
            if owner == rid:
                del self.open_items[item_id]
                if item_id in by_id:
                    out.append(self._item_done(by_id[item_id]))
        for item_id, o in list(self.outputs.items()):
            if o.response_id == rid:
                del self.outputs[item_id]
                if o.call_id:
                    self.calls.pop(o.call_id, None)
        if self.response_id == rid:
            self.response_id = None
            self.current_message = None
        out.append(self._emit(event, new if new != data else data))
        return out

    def _output_item(self, event: Event) -> list[Action]:
        data = event.data
        item = item_to_ga(data.get("item"))
        item_id = item.get("id") if isinstance(item, dict) else None
        o = self.outputs.get(item_id) if isinstance(item_id, str) else None
        if event.type == "response.output_item.added" or o is None:
            index = data.get("output_index")
            if not isinstance(index, int):
                index = self.next_output_index
            self.next_output_index = max(self.next_output_index, index + 1)
            o = _Output(data.get("response_id") or self.response_id, index)
            if isinstance(item, dict):
                o.kind, o.name, o.call_id = item.get("type"), item.get("name"), item.get("call_id")
            if isinstance(item_id, str):
                self.outputs[item_id] = o
                if o.kind == "message":
                    self.current_message = item_id
            if o.call_id:
                self.calls[o.call_id] = item_id  # type: ignore[assignment]
        new = _fill(data, {"response_id": o.response_id, "output_index": o.output_index})
        if item is not data.get("item"):
            new = {**new, "item": item}
        out: list[Action] = [self._emit(event, new)]
        if event.type == "response.output_item.done" and isinstance(item_id, str) and item_id in self.open_items:
            del self.open_items[item_id]
            out.append(self._item_done(item))
        return out

    def _item_added(self, event: Event) -> list[Action]:
        data = event.data
        item = item_to_ga(data.get("item"))
        new = data if item is data.get("item") else {**data, "item": item}
        out: list[Action] = [self._emit(event, new)]
        if not isinstance(item, dict):
            return out
        status = item.get("status")
        item_id = item.get("id")
        generated = item.get("role") == "assistant" or item.get("type") == "function_call"
        if status == "in_progress" or (status is None and generated):
            if isinstance(item_id, str):
                owner = self.outputs[item_id].response_id if item_id in self.outputs else self.response_id
                if len(self.open_items) >= _MAX_REMEMBERED:
                    self.open_items.pop(next(iter(self.open_items)))
                self.open_items[item_id] = owner
        else:
            out.append(self._item_done(item, data.get("previous_item_id")))
        return out

    def _item_created(self, event: Event) -> list[Action]:
        data = event.data
        item = item_to_ga(data.get("item"))
        return [self._emit(event, data if item is data.get("item") else {**data, "item": item})]

    def _output_for(self, data: Json) -> tuple[str | None, _Output | None]:
        item_id = data.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            item_id = self.current_message
        return item_id, self.outputs.get(item_id) if item_id else None

    def _content_part(self, event: Event) -> list[Action]:
        data = event.data
        item_id, o = self._output_for(data)
        ci = data.get("content_index")
        ci = ci if isinstance(ci, int) else 0
        new = _fill(data, {
            "item_id": item_id, "response_id": o.response_id if o else self.response_id,
            "output_index": o.output_index if o else 0, "content_index": ci,
        })
        part = data.get("part")
        if event.type == "response.content_part.added":
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(kind, str) and o is not None:
                o.part_types[ci] = _PART_TYPES.get(kind, kind)
        if isinstance(part, dict) and part.get("type") in _PART_TYPES:
            new = {**new, "part": {**part, "type": _PART_TYPES[part["type"]]}}
        elif part is None and event.type == "response.content_part.done":
            kind = (o.part_types.get(ci) if o else None) or "audio"
            text = "".join(o.texts.get(ci, [])) if o else ""
            new = {**new, "part": {"type": kind, "transcript": text} if kind == "audio" else {"type": kind, "text": text}}
        return [self._emit(event, new)]

    def _content(self, event: Event) -> list[Action]:
        data = event.data
        t = event.type
        item_id, o = self._output_for(data)
        ci = data.get("content_index")
        ci = ci if isinstance(ci, int) else 0
        new = _fill(data, {
            "item_id": item_id, "response_id": o.response_id if o else self.response_id,
            "output_index": o.output_index if o else 0, "content_index": ci,
        })
        if o is not None:
            if t in _TEXT_DELTAS and isinstance(data.get("delta"), str):
                o.texts.setdefault(ci, []).append(data["delta"])
            elif t == "response.output_audio_transcript.done":
                new = _fill(new, {"transcript": "".join(o.texts.get(ci, []))})
            elif t == "response.output_text.done":
                new = _fill(new, {"text": "".join(o.texts.get(ci, []))})
        elif t == "response.output_audio_transcript.done":
            new = _fill(new, {"transcript": ""})
        elif t == "response.output_text.done":
            new = _fill(new, {"text": ""})
        return [self._emit(event, new)]

    def _call_arguments(self, event: Event) -> list[Action]:
        data = event.data
        call_id = data.get("call_id")
        item_id = data.get("item_id") or (self.calls.get(call_id) if isinstance(call_id, str) else None)
        o = self.outputs.get(item_id) if isinstance(item_id, str) else None
        new = _fill(data, {
            "item_id": item_id, "response_id": o.response_id if o else self.response_id,
            "output_index": o.output_index if o else 0,
        })
        if o is not None:
            if event.type == "response.function_call_arguments.delta":
                if isinstance(data.get("delta"), str):
                    o.arguments.append(data["delta"])
            else:
                new = _fill(new, {"name": o.name, "arguments": "".join(o.arguments)})
        return [self._emit(event, new)]

    # -- input audio

    def _speech(self, event: Event) -> list[Action]:
        key = "audio_start_ms" if event.type == "input_audio_buffer.speech_started" else "audio_end_ms"
        return [self._emit(event, _fill(event.data, {key: int(self.audio_ms)}))]

    def _committed(self, event: Event) -> list[Action]:
        item_id = event.data.get("item_id")
        if isinstance(item_id, str):
            if len(self.committed_ms) >= _MAX_REMEMBERED:
                self.committed_ms.pop(next(iter(self.committed_ms)))
            self.committed_ms[item_id] = self.audio_ms - self.audio_ms_at_commit
        self.audio_ms_at_commit = self.audio_ms
        return [ToClient(event)]

    def _cleared(self, event: Event) -> list[Action]:
        self.audio_ms_at_commit = self.audio_ms
        return [ToClient(event)]

    def _transcription(self, event: Event) -> list[Action]:
        data = event.data
        item_id = data.get("item_id")
        ms = self.committed_ms.pop(item_id, 0.0) if isinstance(item_id, str) else 0.0
        values: Json = {"content_index": 0, "transcript": ""}
        if data.get("usage") is None:
            values["usage"] = {"type": "duration", "seconds": round(ms / 1000, 3)}
        return [self._emit(event, _fill(data, values))]

    # -- other

    def _deleted(self, event: Event) -> list[Action]:
        data = event.data
        item_id = data.get("item_id")
        if isinstance(item_id, str) and item_id:
            try:
                self.pending_deletes.remove(item_id)
            except ValueError:
                pass
            return [ToClient(event)]
        if self.pending_deletes:  # xAI has been seen to send an empty item_id
            return [ToClient({**data, "item_id": self.pending_deletes.popleft()})]
        return [ToClient(event)]

    def _error(self, event: Event) -> list[Action]:
        data = event.data
        err = data.get("error")
        if not isinstance(err, dict):
            err = {"message": err if isinstance(err, str) and err else "xAI reported an error without details."}
        new_err = _fill(err, {"type": "invalid_request_error",
                              "message": "xAI reported an error without a message."})
        if new_err is data.get("error"):
            return [ToClient(event)]
        return [ToClient({**_fill(data, {"event_id": self.ids("event")}), "error": new_err})]
