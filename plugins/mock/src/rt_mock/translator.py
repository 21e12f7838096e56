"""The mock model's translator: the whole "server", as a pure state machine.

A translating provider turns client events into upstream frames and upstream
frames into client events.  The mock has no upstream to talk to: it answers
every client event itself with :class:`~rt_core.ToClient` actions, and uses
:class:`~rt_core.Schedule` timers to stream responses over time.  It never
sends a :class:`~rt_core.ToUpstream` frame.

Like every rt translator it is sans-I/O and deterministic: ids come from the
injected ``ids`` factory, and time is measured in audio (bytes received) or
by the timers it schedules -- never by reading a clock.  Fed the same events
and timer signals, it emits the same events, byte for byte.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from rt_core import (
    Action,
    ClientEventError,
    Event,
    Schedule,
    Signal,
    TimerFired,
    ToClient,
    UpstreamLost,
    UpstreamOpened,
)

from .audio import bytes_per_ms
from .conversation import Conversation, Entry, decode_base64, normalize_item
from .provider import MockSettings
from .replies import (
    IMAGE_TOKENS,
    Context,
    audio_transcript,
    decide,
    input_audio_tokens,
    output_audio_tokens,
    text_tokens,
)
from .response import ResponseRun
from .session_config import (
    DEFAULT_INSTRUCTIONS,
    ResponseParams,
    apply_session_update,
    default_session,
    response_params,
)
from .vad import InputAudio, SpeechStarted, SpeechStopped, VadParams

__all__ = ["MockTranslator", "STEP_TIMER", "IDLE_TIMER", "CLIENT_EVENTS"]

#: Timer names (one of each at most is pending: a new Schedule replaces the old).
STEP_TIMER = "mock.response.step"
IDLE_TIMER = "mock.idle_timeout"

#: The GA client events, in the order the service's error message lists them.
CLIENT_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
)

#: ``semantic_vad`` has no silence setting; its eagerness picks one.
_SEMANTIC_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 400}
_MIN_COMMIT_MS = 100


def _required(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise ClientEventError(f"Missing required parameter: '{key}'.", code="missing_required_parameter", param=key)
    return data[key]


def _required_str(data: dict[str, Any], key: str) -> str:
    value = _required(data, key)
    if not isinstance(value, str):
        raise ClientEventError(f"Invalid type for '{key}': expected a string.", code="invalid_type", param=key)
    return value


def _required_int(data: dict[str, Any], key: str) -> int:
    value = _required(data, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ClientEventError(f"Invalid '{key}': expected a non-negative integer.", code="invalid_type", param=key)
    return value


class MockTranslator:
    """One mock session.

    :param settings: the deployment's ``litellm_params``.
    :param model: the model name the session reports (``mock/<model>``).
    :param ids: id factory (``ids("resp") -> "resp_…"``); inject
        ``IdFactory(seed=…)`` for reproducible ids.
    :param session_id: the id shown in ``session.created`` (the gateway's
        session id); a new ``sess_…`` id by default.
    """

    def __init__(
        self,
        settings: MockSettings,
        *,
        model: str,
        ids: Callable[[str], str],
        session_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.ids = ids
        self.session = default_session(
            session_id or ids("sess"), model, settings.instructions or DEFAULT_INSTRUCTIONS
        )
        self.conversation = Conversation(ids("conv"))
        self.audio_in = InputAudio()
        self.active: ResponseRun | None = None
        self.started = False
        #: The model has spoken: the voice can no longer change.
        self.voice_locked = False
        #: Item id announced by ``speech_started``, used when the turn is committed.
        self._speech_item_id: str | None = None
        self._handlers: dict[str, Callable[[Event], list[Action]]] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "output_audio_buffer.clear": self._output_audio_buffer_clear,
            "conversation.item.create": self._item_create,
            "conversation.item.retrieve": self._item_retrieve,
            "conversation.item.truncate": self._item_truncate,
            "conversation.item.delete": self._item_delete,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
        }

    # ------------------------------------------------------------------ the translator interface

    def inbound(self, event: Event | Signal) -> list[Action]:
        """A client event (GA) or one of our timers → actions."""
        if isinstance(event, TimerFired):
            return self._timer(event)
        if not isinstance(event, Event):
            return []
        actions = self._start()
        try:
            handler = self._handlers.get(event.type)
            if handler is None:
                supported = ", ".join(f"'{t}'" for t in CLIENT_EVENTS)
                raise ClientEventError(
                    f"Invalid value: '{event.type}'. Supported values are: {supported}.",
                    code="invalid_value",
                    param="type",
                )
            return actions + handler(event)
        except ClientEventError as err:
            if err.event_id is None:
                err.event_id = event.event_id
            return actions + [ToClient(self._ev("error", error=err.to_error()))]

    def outbound(self, frame: Any) -> list[Action] | None:
        """Upstream side: only the open/lost signals of the in-process upstream."""
        if isinstance(frame, UpstreamOpened):
            return self._start()
        if isinstance(frame, UpstreamLost):
            return None  # the core's default: an error event, then close
        return []

    # ------------------------------------------------------------------ helpers

    def _ev(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self.ids("event"), **fields}

    def _send(self, *events: dict[str, Any]) -> list[Action]:
        return [ToClient(e) for e in events]

    def _start(self) -> list[Action]:
        """``session.created`` first, once, whatever arrives first."""
        if self.started:
            return []
        self.started = True
        return self._send(self._ev("session.created", session=copy.deepcopy(self.session)))

    @property
    def _input_format(self) -> str:
        fmt: str = self.session["audio"]["input"]["format"]["type"]
        return fmt

    @property
    def _turn_detection(self) -> dict[str, Any] | None:
        td: dict[str, Any] | None = self.session["audio"]["input"]["turn_detection"]
        return td

    def _vad(self) -> VadParams | None:
        td = self._turn_detection
        if td is None:
            return None
        if td["type"] == "semantic_vad":
            return VadParams(silence_duration_ms=_SEMANTIC_SILENCE_MS[td["eagerness"]])
        return VadParams(td["threshold"], td["prefix_padding_ms"], td["silence_duration_ms"])

    # ------------------------------------------------------------------ session

    def _session_update(self, event: Event) -> list[Action]:
        update = _required(event.data, "session")
        self.session = apply_session_update(self.session, update, voice_locked=self.voice_locked)
        if self._turn_detection is None and self.audio_in.speaking:
            self.audio_in.speaking = False  # VAD switched off mid-speech: the turn is the client's now
        return self._send(self._ev("session.updated", session=copy.deepcopy(self.session)))

    # ------------------------------------------------------------------ input audio

    def _append(self, event: Event) -> list[Action]:
        audio = decode_base64(_required(event.data, "audio"), "audio")
        actions: list[Action] = []
        for boundary in self.audio_in.append(audio, self._input_format, self._vad()):
            if isinstance(boundary, SpeechStarted):
                actions += self._speech_started(boundary)
            else:
                actions += self._speech_stopped(boundary)
        return actions

    def _speech_started(self, started: SpeechStarted) -> list[Action]:
        self._speech_item_id = self.ids("item")
        actions = self._send(self._ev("input_audio_buffer.speech_started", audio_start_ms=started.audio_start_ms,
                                      item_id=self._speech_item_id))
        actions.append(Schedule(-1, TimerFired(IDLE_TIMER)))
        td = self._turn_detection or {}
        run = self.active
        if run is not None and run.conversation is not None and td.get("interrupt_response", True):
            actions += self._cancel_active("turn_detected")
        return actions

    def _speech_stopped(self, stopped: SpeechStopped) -> list[Action]:
        item_id = self._speech_item_id or self.ids("item")
        self._speech_item_id = None
        actions = self._send(self._ev("input_audio_buffer.speech_stopped", audio_end_ms=stopped.audio_end_ms,
                                      item_id=item_id))
        actions += self._commit_audio(stopped.audio, item_id)
        td = self._turn_detection or {}
        if td.get("create_response", True) and self.active is None:
            actions += self._auto_response()
        return actions

    def _auto_response(self, *, idle: bool = False) -> list[Action]:
        """A response the server starts by itself (VAD, idle timeout).

        No client event caused it, so a configuration it cannot run with
        (a ``tool_choice`` naming a missing tool) becomes an ``error`` event
        without ``event_id`` -- after the events already produced, not instead
        of them.
        """
        try:
            return self._start_response(response_params(self.session, None), idle=idle)
        except ClientEventError as err:
            return self._send(self._ev("error", error=err.to_error()))

    def _commit(self, event: Event) -> list[Action]:
        fmt = self._input_format
        ms = self.audio_in.buffered_ms(fmt)
        if ms < _MIN_COMMIT_MS:
            raise ClientEventError(
                f"Error committing input audio buffer: buffer too small. Expected at least {_MIN_COMMIT_MS}ms of "
                f"audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        item_id = self._speech_item_id or self.ids("item")
        self._speech_item_id = None
        return self._commit_audio(self.audio_in.commit(fmt), item_id)

    def _clear(self, event: Event) -> list[Action]:
        self.audio_in.clear(self._input_format)
        self._speech_item_id = None
        return self._send(self._ev("input_audio_buffer.cleared"))

    def _output_audio_buffer_clear(self, event: Event) -> list[Action]:
        raise ClientEventError(
            "output_audio_buffer.clear is only supported for WebRTC and SIP connections.",
            code="invalid_value",
            param="type",
        )

    def _commit_audio(self, audio: bytes, item_id: str) -> list[Action]:
        """The user's audio becomes a conversation item (+ its transcription)."""
        fmt = self._input_format
        entry = Entry(
            {"id": item_id, "type": "message", "object": "realtime.item", "status": "completed", "role": "user",
             "content": [{"type": "input_audio", "transcript": None}]},
            audio={0: audio},
            audio_format={0: fmt},
        )
        prev = self.conversation.add(entry)
        events = [
            self._ev("input_audio_buffer.committed", previous_item_id=prev, item_id=item_id),
            self._ev("conversation.item.added", previous_item_id=prev, item=entry.public()),
            self._ev("conversation.item.done", previous_item_id=prev, item=entry.public()),
        ]
        transcription = self.session["audio"]["input"]["transcription"]
        if transcription is not None:
            ms = len(audio) / bytes_per_ms(fmt)
            transcript = self.settings.input_transcript or audio_transcript(ms)
            model = transcription.get("model") or "whisper-1"
            if model == "whisper-1":
                usage: dict[str, Any] = {"type": "duration", "seconds": round(ms / 1000, 3)}
            else:
                audio_tokens = input_audio_tokens(ms)
                out_tokens = text_tokens(transcript)
                usage = {"type": "tokens", "input_tokens": audio_tokens, "output_tokens": out_tokens,
                         "total_tokens": audio_tokens + out_tokens,
                         "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens}}
                events.append(self._ev("conversation.item.input_audio_transcription.delta", item_id=item_id,
                                       content_index=0, delta=transcript))
            events.append(self._ev("conversation.item.input_audio_transcription.completed", item_id=item_id,
                                   content_index=0, transcript=transcript, usage=usage))
            entry.item["content"][0]["transcript"] = transcript
        return self._send(*events)

    # ------------------------------------------------------------------ conversation items

    def _item_create(self, event: Event) -> list[Action]:
        data = event.data
        raw = _required(data, "item")
        prev_req = data.get("previous_item_id")
        if prev_req is not None:
            if not isinstance(prev_req, str):
                raise ClientEventError("Invalid type for 'previous_item_id': expected a string.",
                                       code="invalid_type", param="previous_item_id")
            if prev_req != "root" and prev_req not in self.conversation:
                raise ClientEventError(f"Previous item with id '{prev_req}' not found.",
                                       code="invalid_value", param="previous_item_id")
        entry = normalize_item(raw, "item", self.ids, self._input_format)
        if entry.id in self.conversation:
            raise ClientEventError(f"Item with id '{entry.id}' already exists.", code="invalid_value",
                                   param="item.id")
        prev = self.conversation.add(entry, prev_req)
        return self._send(
            self._ev("conversation.item.added", previous_item_id=prev, item=entry.public()),
            self._ev("conversation.item.done", previous_item_id=prev, item=entry.public()),
        )

    def _existing(self, data: dict[str, Any], operation: str) -> Entry:
        item_id = _required_str(data, "item_id")
        entry = self.conversation.get(item_id)
        if entry is None:
            raise ClientEventError(
                f"Error {operation} item: the item with id '{item_id}' does not exist.",
                code=_NOT_FOUND_CODES[operation],
                param="item_id",
            )
        return entry

    def _item_retrieve(self, event: Event) -> list[Action]:
        entry = self._existing(event.data, "retrieving")
        return self._send(self._ev("conversation.item.retrieved", item=entry.with_audio()))

    def _item_delete(self, event: Event) -> list[Action]:
        entry = self._existing(event.data, "deleting")
        self.conversation.delete(entry.id)
        return self._send(self._ev("conversation.item.deleted", item_id=entry.id))

    def _item_truncate(self, event: Event) -> list[Action]:
        data = event.data
        entry = self._existing(data, "truncating")
        content_index = _required_int(data, "content_index")
        audio_end_ms = _required_int(data, "audio_end_ms")
        item = entry.item
        if item["type"] != "message" or item.get("role") != "assistant":
            raise ClientEventError("Only assistant messages with audio can be truncated.", code="invalid_value",
                                   param="item_id")
        content = item["content"]
        if content_index >= len(content) or content[content_index]["type"] != "output_audio":
            raise ClientEventError(f"Content index {content_index} is not an audio part of item '{entry.id}'.",
                                   code="invalid_value", param="content_index")
        total_ms = entry.audio_ms(content_index)
        if audio_end_ms > total_ms:
            raise ClientEventError(f"Audio content of {total_ms:.0f}ms is already shorter than {audio_end_ms}ms",
                                   code="invalid_value", param="audio_end_ms")
        if content_index in entry.audio:
            fmt = entry.audio_format[content_index]
            entry.audio[content_index] = entry.audio[content_index][: audio_end_ms * bytes_per_ms(fmt)]
        # What the user heard is what the model remembers: whole words played.
        ends = entry.word_ends_ms.get(content_index)
        if ends is not None:
            heard = [w for w, end in zip(entry.words[content_index], ends) if end <= audio_end_ms]
            content[content_index]["transcript"] = "".join(heard).strip()
            entry.words[content_index] = heard
            entry.word_ends_ms[content_index] = ends[: len(heard)]
        return self._send(self._ev("conversation.item.truncated", item_id=entry.id, content_index=content_index,
                                   audio_end_ms=audio_end_ms))

    # ------------------------------------------------------------------ responses

    def _response_create(self, event: Event) -> list[Action]:
        if self.active is not None:
            raise ClientEventError(
                f"Conversation already has an active response in progress: {self.active.id}. Wait until the "
                "response is finished before creating a new one.",
                code="conversation_already_has_active_response",
            )
        return self._start_response(response_params(self.session, event.data.get("response")))

    def _response_cancel(self, event: Event) -> list[Action]:
        response_id = event.data.get("response_id")
        if self.active is None or (response_id is not None and response_id != self.active.id):
            raise ClientEventError("Cancellation failed: no active response found", code="response_cancel_not_active")
        return self._cancel_active("client_cancelled")

    def _context_entries(self, params: ResponseParams) -> list[Entry]:
        if params.input is None:
            return self.conversation.entries()
        entries = []
        for i, raw in enumerate(params.input):
            param = f"response.input[{i}]"
            if isinstance(raw, dict) and raw.get("type") == "item_reference":
                ref = raw.get("id")
                entry = self.conversation.get(ref) if isinstance(ref, str) else None
                if entry is None:
                    raise ClientEventError(f"Item with id '{ref}' not found.", code="invalid_value",
                                           param=f"{param}.id")
                entries.append(entry)
            else:
                entries.append(normalize_item(raw, param, self.ids, self._input_format))
        return entries

    def _start_response(self, params: ResponseParams, *, idle: bool = False) -> list[Action]:
        entries = self._context_entries(params)
        calls, text = decide(
            self._context(entries, idle),
            instructions=params.instructions,
            tools=params.tools,
            tool_choice=params.tool_choice,
            parallel_tool_calls=params.parallel_tool_calls,
            reply_text=self.settings.reply_text,
        )
        in_conversation = params.conversation == "auto"
        run = ResponseRun(
            response_id=self.ids("resp"),
            params=params,
            calls=calls,
            text=text,
            conversation=self.conversation if in_conversation else None,
            conversation_id=self.conversation.id if in_conversation else None,
            ids=self.ids,
            emit=self._ev,
            input_usage=self._input_usage(entries, params),
        )
        self.active = run
        return [
            *self._send(*run.created()),
            Schedule(-1, TimerFired(IDLE_TIMER)),
            Schedule(self.settings.reply_delay_ms / 1000, TimerFired(STEP_TIMER, run.id)),
        ]

    def _cancel_active(self, reason: str) -> list[Action]:
        run = self.active
        assert run is not None
        self.active = None
        actions = self._send(*run.cancel(reason))
        actions.append(Schedule(-1, TimerFired(STEP_TIMER)))
        if reason != "turn_detected":
            actions += self._arm_idle(run)
        return actions

    def _timer(self, signal: TimerFired) -> list[Action]:
        if signal.name == STEP_TIMER:
            run = self.active
            if run is None or signal.payload != run.id:
                return []  # a step of a response that has ended since
            actions = self._send(*run.step())
            if run.last_step_audio_ms:
                self.voice_locked = True
            if run.done:
                self.active = None
                return actions + self._arm_idle(run)
            delay = run.last_step_audio_ms if self.settings.realtime_pacing else self.settings.delta_interval_ms
            return actions + [Schedule(delay / 1000, TimerFired(STEP_TIMER, run.id))]
        if signal.name == IDLE_TIMER:
            return self._idle_timeout()
        return []

    # ------------------------------------------------------------------ idle timeout

    def _arm_idle(self, run: ResponseRun) -> list[Action]:
        """``idle_timeout_ms`` counts from the end of the reply's playback."""
        td = self._turn_detection
        if td is None or td["type"] != "server_vad" or not td.get("idle_timeout_ms"):
            return []
        delay_ms = td["idle_timeout_ms"] + run.output_audio_ms
        return [Schedule(delay_ms / 1000, TimerFired(IDLE_TIMER))]

    def _idle_timeout(self) -> list[Action]:
        if self.active is not None or self.audio_in.speaking or self._turn_detection is None:
            return []
        fmt = self._input_format
        start = int(self.audio_in.buffer_start_ms)
        end = int(self.audio_in.time_ms)
        item_id = self.ids("item")
        actions = self._send(self._ev("input_audio_buffer.timeout_triggered", audio_start_ms=start,
                                      audio_end_ms=end, item_id=item_id))
        actions += self._commit_audio(self.audio_in.commit(fmt), item_id)
        return actions + self._auto_response(idle=True)

    # ------------------------------------------------------------------ what the model sees

    def _heard(self, entry: Entry) -> str:
        """A user message as the model understands it."""
        words = []
        for i, part in enumerate(entry.item["content"]):
            if part["type"] == "input_text":
                words.append(part["text"])
            elif part["type"] == "input_audio":
                words.append(part.get("transcript") or self.settings.input_transcript
                             or audio_transcript(entry.audio_ms(i)))
            elif part["type"] == "input_image":
                words.append("[image]")
        return " ".join(w for w in words if w)

    def _context(self, entries: list[Entry], idle: bool) -> Context:
        user_text: str | None = None
        results: list[tuple[str, str]] = []
        call_names: dict[str, str] = {}
        for entry in entries:
            item = entry.item
            if item["type"] == "function_call":
                call_names[item["call_id"]] = item["name"]
            elif item["type"] == "function_call_output":
                results.append((call_names.get(item["call_id"], "the tool"), item["output"]))
            elif item["role"] == "user":
                user_text = self._heard(entry)
                results = []
            elif item["role"] == "assistant":
                results = []
        return Context(user_text=user_text, tool_results=tuple(results), idle=idle)

    def _input_usage(self, entries: list[Entry], params: ResponseParams) -> tuple[int, int, int]:
        """``(text, audio, image)`` tokens of everything the response reads."""
        text = text_tokens(params.instructions)
        if params.tools:
            text += text_tokens(json.dumps(params.tools))
        audio = image = 0
        for entry in entries:
            item = entry.item
            if item["type"] == "function_call":
                text += text_tokens(item["name"] + item["arguments"])
            elif item["type"] == "function_call_output":
                text += text_tokens(item["output"])
            else:
                for i, part in enumerate(item["content"]):
                    kind = part["type"]
                    if kind in ("input_text", "output_text"):
                        text += text_tokens(part["text"])
                    elif kind == "input_image":
                        image += IMAGE_TOKENS
                    elif i in entry.audio:
                        ms = entry.audio_ms(i)
                        audio += input_audio_tokens(ms) if kind == "input_audio" else output_audio_tokens(ms)
                    else:
                        text += text_tokens(part.get("transcript"))
        return text, audio, image


_NOT_FOUND_CODES = {
    "retrieving": "item_retrieve_invalid_item_id",
    "deleting": "item_delete_invalid_item_id",
    "truncating": "item_truncate_invalid_item_id",
}
