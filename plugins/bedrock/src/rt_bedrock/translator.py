"""The Nova Sonic translator: GA OpenAI Realtime events ⇄ Nova Sonic events.

Pure and stateful, one per session (see ``rt_core.translator``): it never
awaits, reads the injected clock and ids only, and returns actions.  The
upstream (``rt_bedrock.upstream``) does the I/O, including running several
Nova streams one after the other; this module decides what goes on which
stream (``control.Frame`` carries the stream generation).

How the two models meet
-----------------------
* **One long turn-taking prompt.**  Nova wants ``promptStart``, a SYSTEM block,
  history, then one USER AUDIO block that stays open; it detects turns itself.
  The prompt is started lazily, when the conversation begins (first audio,
  first response), so the client's ``session.update`` shapes it.
* **User turns** are only known from Nova's ASR text (USER TEXT blocks):
  ``speech_started`` on the first one, and when the assistant starts answering
  ``speech_stopped``/``committed``/the user item/the transcription.
* **Responses** start with the first assistant content (SPECULATIVE text, audio
  or a tool call).  SPECULATIVE text streams as transcript (or text) deltas;
  FINAL text (what was actually spoken) becomes the ``.done`` text; a response
  ends when an END_TURN has been seen, the audio block is closed and every
  SPECULATIVE block has its FINAL one.  A tool call ends the response (Nova
  waits for the result); the result goes back as a TOOL block and Nova
  continues by itself, so the client's following ``response.create`` is
  absorbed instead of starting anything.
* **Barge-in** (``{ "interrupted" : true }`` or stopReason INTERRUPTED) becomes
  ``speech_started`` then ``response.done`` (cancelled, ``turn_detected``);
  ``response.cancel`` is emulated the same way (``client_cancelled``): the rest
  of that Nova turn is dropped.
* **Continuation.**  A Nova stream lives about 8 minutes.  After
  ``continuation_after_s`` the next stream is opened in the background; at the
  next turn boundary (no response, no open user turn, no pending tool call; or
  at the deadline) it is seeded with the prompt, the conversation as history and
  the user audio not yet answered, and promoted; the old one is closed.  The
  same path replaces a stream that failed with a recoverable error and applies
  prompt-level ``session.update`` changes (voice, instructions, tools).
"""

from __future__ import annotations

import base64
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rt_core import (
    Action,
    ClientEventError,
    Close,
    Event,
    Schedule,
    Signal,
    TimerFired,
    ToClient,
    ToUpstream,
    UnsupportedEventError,
    dumps,
    UpstreamLost,
    UpstreamOpened,
    error_event,
)
from rt_core.audio import PCM16_16K, PCM16_24K, AudioConverter, AudioFormat

from . import wire
from .control import (
    DropStream,
    Frame,
    NovaError,
    OpenStream,
    PromoteStream,
    StreamEnded,
    StreamError,
    StreamFailed,
    StreamOpened,
)
from .conversation import Conversation, item_text
from .provider import BedrockSettings, is_nova2
from .voices import DEFAULT_NOVA_VOICE, nova_voice

__all__ = ["NovaTranslator", "error_for"]

TIMER_CONTINUE = "bedrock.continue"
TIMER_DEADLINE = "bedrock.handover_deadline"
TIMER_RETRY = "bedrock.handover_retry"
MAX_RECOVERIES = 3
_BYTES_PER_MS_16K = 32  # pcm16 mono 16 kHz

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, friendly voice assistant. Keep answers short and conversational."
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- errors


_ERROR_MAP: dict[str, tuple[str, str, int]] = {
    # Bedrock exception → (OpenAI error type, code, close code if fatal)
    "ThrottlingException": ("server_error", "rate_limit_exceeded", 1013),
    "ServiceUnavailableException": ("server_error", "upstream_unavailable", 1013),
    "ModelNotReadyException": ("server_error", "upstream_unavailable", 1013),
    "ModelTimeoutException": ("server_error", "upstream_timeout", 1011),
    "ValidationException": ("invalid_request_error", "upstream_validation_error", 1011),
    "AccessDeniedException": ("invalid_request_error", "upstream_auth_error", 1011),
    "InternalServerException": ("server_error", "upstream_error", 1011),
    "ModelStreamErrorException": ("server_error", "upstream_error", 1011),
    "TransportError": ("server_error", "upstream_connection_error", 1014),
}


def error_for(err: NovaError) -> tuple[dict[str, Any], int]:
    """The OpenAI ``error`` object and close code for a Bedrock error."""
    etype, code, close = _ERROR_MAP.get(err.kind, ("server_error", "upstream_error", 1011))
    message = f"Amazon Bedrock {err.kind}"
    if err.message:
        message += f": {err.message}"
    return {"type": etype, "code": code, "message": message, "param": None, "event_id": None}, close


# --------------------------------------------------------------------------- state


@dataclass
class _UserTurn:
    item_id: str
    start_ms: float
    text: list[str] = field(default_factory=list)


@dataclass
class _Response:
    id: str
    modalities: list[str]
    metadata: Any = None
    output: list[dict[str, Any]] = field(default_factory=list)
    item: dict[str, Any] | None = None  # the assistant message in progress
    item_index: int = 0
    part_open: bool = False
    spec: list[str] = field(default_factory=list)
    final: list[str] = field(default_factory=list)
    spec_blocks: int = 0
    final_blocks: int = 0
    end_turn: bool = False
    audio_open: bool = False
    audio_ms: float = 0.0

    @property
    def audio(self) -> bool:
        return "audio" in self.modalities


class NovaTranslator:
    """GA OpenAI Realtime ⇄ Nova Sonic, for one session.

    :param settings: the deployment's settings.
    :param model_id: the Bedrock model id (``amazon.nova-2-sonic-v1:0``).
    :param model_name: the model name the client asked for (in ``session.*``).
    :param ids: the session's id factory.
    :param clock: the session's monotonic clock.
    """

    #: Slots, not a __dict__: this many attributes are more than CPython 3.12 keeps
    #: in a class's shared keys (30), past which every ``self.x`` becomes a dict lookup
    #: and each session carries its own keys table (tests/unit/test_attribute_layout.py).
    __slots__ = (
        "settings", "model_id", "model_name", "ids", "clock", "nova2", "session_id", "instructions", "voice",
        "tools", "tool_choice", "modalities", "in_format", "out_format", "transcription", "turn_detection",
        "noise_reduction", "max_output_tokens", "speed", "in_conv", "out_conv", "prompt", "audio_name", "gen",
        "_gen_counter", "prompt_open", "audio_open", "prompt_config", "stream_started", "stream_dead",
        "next_gen", "next_state", "handover_reason", "promote_asap", "handover_failures", "recoveries",
        "handovers", "reconfigure", "conv", "pending_user", "user", "resp", "discarding", "suppress_user_echo",
        "absorb_create", "expect", "pending_calls", "content_kind", "input_ms", "turn_mark_ms", "replay",
        "replay_ms", "audio_since_turn_ms", "usage_stream", "usage_closed", "usage_reported",
    )

    def __init__(
        self,
        settings: BedrockSettings,
        model_id: str,
        *,
        model_name: str,
        ids: Callable[[str], str],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.model_id = model_id
        self.model_name = model_name
        self.ids = ids
        self.clock = clock
        self.nova2 = is_nova2(model_id)

        # Client-facing session configuration (GA shape, echoed in session.*).
        self.session_id = ids("sess")
        self.instructions: str | None = None
        self.voice: Any = None  # the client's voice value, echoed back
        self.tools: list[dict[str, Any]] = []
        self.tool_choice: Any = "auto"
        self.modalities: list[str] = ["audio"]
        self.in_format: AudioFormat = PCM16_24K
        self.out_format: AudioFormat = PCM16_24K
        self.transcription: dict[str, Any] | None = None
        self.turn_detection: dict[str, Any] | None = {
            "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
            "silence_duration_ms": 500, "create_response": True, "interrupt_response": True,
            "idle_timeout_ms": None,
        }
        self.noise_reduction: Any = None
        self.max_output_tokens: Any = "inf"
        self.speed: float = 1.0
        self.in_conv = AudioConverter(self.in_format, PCM16_16K)
        self.out_conv = AudioConverter(PCM16_24K, self.out_format)

        # Nova names: the same prompt and audio-block names on every stream, so
        # an audio frame reads the same whichever stream it ends up on.
        self.prompt = ids("prompt")
        self.audio_name = ids("audio")

        # The current stream and its grammar state.
        self.gen = 0
        self._gen_counter = 0
        self.prompt_open = False
        self.audio_open = False
        self.prompt_config: tuple[Any, ...] | None = None  # what promptStart was built from
        self.stream_started = clock()
        self.stream_dead = False

        # Continuation / hand-over.
        self.next_gen: int | None = None
        self.next_state: str | None = None  # "opening" | "ready"
        self.handover_reason: str | None = None
        self.promote_asap = False
        self.handover_failures = 0
        self.recoveries = 0
        self.handovers = 0
        self.reconfigure = False

        # Conversation and turns.
        self.conv = Conversation()
        self.pending_user: list[tuple[str, str]] = []  # (item id, text) of user text not yet given to Nova
        self.user: _UserTurn | None = None
        self.resp: _Response | None = None
        self.discarding = False  # drop assistant output until the next user turn
        self.suppress_user_echo = False
        self.absorb_create = False  # the next response.create is already under way
        self.expect: dict[str, Any] | None = None  # response.create params for the next response
        self.pending_calls: dict[str, str] = {}  # toolUseId → name, awaiting output
        self.content_kind: dict[str, str] = {}  # Nova contentId → user|spec|final|audio|tool

        # Input audio bookkeeping: total ms, and the audio not yet answered
        # (replayed into a new stream on hand-over).
        self.input_ms = 0.0
        self.turn_mark_ms = 0.0  # input_ms when the last user turn was consumed
        self.replay: deque[tuple[str, float]] = deque()
        self.replay_ms = 0.0
        self.audio_since_turn_ms = 0.0

        # Usage: Nova reports cumulative totals per stream.
        self.usage_stream = [0, 0, 0, 0, 0, 0]  # in_total, out_total, in_speech, in_text, out_speech, out_text
        self.usage_closed = [0, 0, 0, 0, 0, 0]
        self.usage_reported = [0, 0, 0, 0, 0, 0]

    # ================================================================== session config

    def session_start_event(self) -> str:
        """The first event of every stream (sessionStart)."""
        inference = dict(wire.DEFAULT_INFERENCE)
        s = self.settings
        if s.max_tokens is not None:
            inference["maxTokens"] = s.max_tokens
        if isinstance(self.max_output_tokens, int):
            inference["maxTokens"] = self.max_output_tokens
        if s.temperature is not None:
            inference["temperature"] = s.temperature
        if s.top_p is not None:
            inference["topP"] = s.top_p
        endpointing: str | None = None
        if self.nova2:
            endpointing = s.endpointing_sensitivity
            td = self.turn_detection
            if endpointing is None and isinstance(td, dict) and td.get("type") == "semantic_vad":
                endpointing = {"low": "LOW", "medium": "MEDIUM", "high": "HIGH"}.get(str(td.get("eagerness")))
        return wire.session_start(inference, endpointing)

    def first_stream_events(self) -> list[str]:
        """What the upstream sends when it opens stream 0."""
        return [self.session_start_event()]

    def closing_events(self) -> list[str]:
        """What ends the current stream politely (the upstream's ``aclose``)."""
        if self.stream_dead:
            return []
        events = []
        if self.audio_open:
            events.append(wire.content_end(self.prompt, self.audio_name))
        if self.prompt_open:
            events.append(wire.prompt_end(self.prompt))
        events.append(wire.session_end())
        return events

    def _nova_voice(self) -> str:
        return nova_voice(self.voice, self.settings.voice or DEFAULT_NOVA_VOICE)

    def _prompt_key(self) -> tuple[Any, ...]:
        return (self.instructions, self._nova_voice(), repr(self.tools), repr(self.tool_choice),
                tuple(self.conv.system_texts()))

    def _system_text(self) -> str:
        parts = [self.instructions if self.instructions else DEFAULT_INSTRUCTIONS]
        parts.extend(self.conv.system_texts())
        return "\n\n".join(parts)

    def _prompt_events(self) -> list[str]:
        tools = [] if self.tool_choice == "none" else [wire.tool_spec(t) for t in self.tools]
        events = [wire.prompt_start(self.prompt, self._nova_voice(), tools, wire.tool_choice(self.tool_choice) if tools else None)]
        events += wire.text_block(self.prompt, self.ids("content"), "SYSTEM", self._system_text(), interactive=False)
        for msg in self.conv.history(exclude=self._pending_ids()):
            events += wire.text_block(self.prompt, self.ids("content"), msg.role, msg.text, interactive=False)
        self.prompt_config = self._prompt_key()
        return events

    def _pending_ids(self) -> set[str]:
        return {i for i, _ in self.pending_user}

    def session_object(self) -> dict[str, Any]:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.session_id,
            "model": self.model_name,
            "output_modalities": list(self.modalities),
            "instructions": self.instructions or "",
            "tools": list(self.tools),
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens,
            "tracing": None,
            "prompt": None,
            "include": None,
            "expires_at": 0,
            "audio": {
                "input": {
                    "format": self.in_format.to_openai(),
                    "transcription": self.transcription,
                    "noise_reduction": self.noise_reduction,
                    "turn_detection": self.turn_detection,
                },
                "output": {"format": self.out_format.to_openai(), "voice": self.voice or "alloy", "speed": self.speed},
            },
        }

    # ================================================================== entry points

    def inbound(self, event: Event | Signal) -> list[Action]:
        if isinstance(event, TimerFired):
            return self._on_timer(event)
        if not isinstance(event, Event):
            return []
        handler = self._INBOUND.get(event.type)
        if handler is None:
            raise ClientEventError(
                f"Unknown or unsupported client event type {event.type!r}.",
                code="invalid_event", param="type", event_id=event.event_id,
            )
        return handler(self, event)

    def outbound(self, frame: Any) -> list[Action]:
        if isinstance(frame, (bytes, bytearray, str)):
            return self._on_nova(frame)
        if isinstance(frame, UpstreamOpened):
            out: list[Action] = [ToClient(self._ev("session.created", session=self.session_object()))]
            self.stream_started = self.clock()
            if self.settings.continuation_after_s > 0:
                out.append(Schedule(self.settings.continuation_after_s, TimerFired(TIMER_CONTINUE)))
            return out
        if isinstance(frame, StreamOpened):
            return self._on_stream_opened(frame)
        if isinstance(frame, StreamFailed):
            return self._on_stream_failed(frame)
        if isinstance(frame, (StreamError, StreamEnded)):
            return self._on_stream_lost(frame)
        if isinstance(frame, UpstreamLost):
            return []  # the core's default error + close (a [] result still gets it)
        return []

    # ================================================================== helpers

    def _ev(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self.ids("event"), **fields}

    def _send(self, text: str) -> ToUpstream:
        return ToUpstream(Frame(self.gen, text))

    def _ensure_prompt(self, out: list[Action]) -> None:
        if not self.prompt_open:
            out.extend(self._send(e) for e in self._prompt_events())
            self.prompt_open = True

    def _ensure_audio(self, out: list[Action]) -> None:
        self._ensure_prompt(out)
        if not self.audio_open:
            # Text given before the first audio is context, not a turn.
            self._flush_pending_as_history(out)
            out.append(self._send(wire.audio_start(self.prompt, self.audio_name)))
            self.audio_open = True

    def _flush_pending_as_history(self, out: list[Action]) -> None:
        for _, text in self.pending_user:
            out.extend(self._send(e) for e in wire.text_block(self.prompt, self.ids("content"), "USER", text, interactive=False))
        self.pending_user.clear()

    # ================================================================== client events

    def _session_update(self, event: Event) -> list[Action]:
        eid = event.event_id
        sess = event.data.get("session")
        if not isinstance(sess, dict):
            raise ClientEventError("session.update needs a 'session' object.", param="session", event_id=eid)
        if sess.get("type", "realtime") != "realtime":
            raise UnsupportedEventError(
                "Nova Sonic is a speech-to-speech model; transcription-only sessions are not supported.",
                param="session.type", event_id=eid)
        changes: dict[str, Any] = {}
        if "instructions" in sess:
            v = sess["instructions"]
            if v is not None and not isinstance(v, str):
                raise ClientEventError("instructions must be a string.", param="session.instructions", event_id=eid)
            changes["instructions"] = v
        if "output_modalities" in sess:
            changes["modalities"] = self._modalities(sess["output_modalities"], "session.output_modalities", eid)
        if "tools" in sess:
            changes["tools"] = self._tools(sess["tools"], eid)
        if "tool_choice" in sess:
            changes["tool_choice"] = self._tool_choice(sess["tool_choice"], changes.get("tools", self.tools), eid)
        if "max_output_tokens" in sess:
            v = sess["max_output_tokens"]
            if not (v == "inf" or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10000)):
                raise ClientEventError("max_output_tokens must be 'inf' or 1..10000 for Nova Sonic.",
                                       param="session.max_output_tokens", event_id=eid)
            changes["max_output_tokens"] = v
        audio = sess.get("audio")
        if audio is not None and not isinstance(audio, dict):
            raise ClientEventError("audio must be an object.", param="session.audio", event_id=eid)
        audio = audio or {}
        ain = audio.get("input") or {}
        aout = audio.get("output") or {}
        if "format" in ain:
            changes["in_format"] = self._format(ain["format"], "session.audio.input.format", eid)
        if "format" in aout:
            changes["out_format"] = self._format(aout["format"], "session.audio.output.format", eid)
        if "voice" in aout:
            v = aout["voice"]
            if not (isinstance(v, str) and v) and not (isinstance(v, dict) and isinstance(v.get("id"), str)):
                raise ClientEventError("voice must be a voice name.", param="session.audio.output.voice", event_id=eid)
            changes["voice"] = v
        if "speed" in aout:
            changes["speed"] = aout["speed"]
        if "transcription" in ain:
            changes["transcription"] = ain["transcription"]
        if "turn_detection" in ain:
            changes["turn_detection"] = ain["turn_detection"]
        if "noise_reduction" in ain:
            changes["noise_reduction"] = ain["noise_reduction"]
        # Everything validated: apply.
        for k, v in changes.items():
            setattr(self, k, v)
        if "in_format" in changes:
            self.in_conv = AudioConverter(self.in_format, PCM16_16K)
        if "out_format" in changes:
            self.out_conv = AudioConverter(PCM16_24K, self.out_format)
        out: list[Action] = [ToClient(self._ev("session.updated", session=self.session_object()))]
        if self.prompt_open and self.prompt_config != self._prompt_key():
            # Nova fixes voice, tools and the system prompt at promptStart: a new
            # stream carries the change, handed over at the next turn boundary.
            self.reconfigure = True
            out += self._begin_handover("reconfigure")
        return out

    def _modalities(self, v: Any, param: str, eid: str | None) -> list[str]:
        if not isinstance(v, list) or not v or any(m not in ("audio", "text") for m in v):
            raise ClientEventError("output_modalities must be ['audio'] or ['text'].", param=param, event_id=eid)
        return ["text"] if v == ["text"] else ["audio"]

    def _format(self, v: Any, param: str, eid: str | None) -> AudioFormat:
        try:
            return AudioFormat.from_openai(v)
        except ValueError as exc:
            raise ClientEventError(str(exc), code="invalid_value", param=param, event_id=eid) from None

    def _tools(self, tools: Any, eid: str | None) -> list[dict[str, Any]]:
        if not isinstance(tools, list):
            raise ClientEventError("tools must be a list.", param="session.tools", event_id=eid)
        out = []
        for i, t in enumerate(tools):
            if not isinstance(t, dict):
                raise ClientEventError("each tool must be an object.", param=f"session.tools[{i}]", event_id=eid)
            if t.get("type", "function") != "function":
                raise UnsupportedEventError(
                    f"Nova Sonic supports function tools only, not {t.get('type')!r}.",
                    param=f"session.tools[{i}].type", event_id=eid)
            name = t.get("name")
            if not isinstance(name, str) or not name:
                raise ClientEventError("a function tool needs a name.", param=f"session.tools[{i}].name", event_id=eid)
            params = t.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise ClientEventError("parameters must be a JSON schema object.",
                                       param=f"session.tools[{i}].parameters", event_id=eid)
            out.append({"type": "function", **{k: v for k, v in t.items() if k != "type"}})
        return out

    def _tool_choice(self, choice: Any, tools: list[dict[str, Any]], eid: str | None) -> Any:
        if choice in ("auto", "none", "required"):
            return choice
        if isinstance(choice, dict) and choice.get("type") == "function":
            if not any(t.get("name") == choice.get("name") for t in tools):
                raise ClientEventError(f"tool_choice names an unknown function {choice.get('name')!r}.",
                                       param="session.tool_choice", event_id=eid)
            return {"type": "function", "name": choice["name"]}
        raise UnsupportedEventError("tool_choice must be auto, none, required or a function.",
                                    param="session.tool_choice", event_id=eid)

    # ---------------------------------------------------------------- audio

    def _audio_append(self, event: Event) -> list[Action]:
        audio = event.data.get("audio")
        if not isinstance(audio, str):
            raise ClientEventError("input_audio_buffer.append needs base64 'audio'.", param="audio",
                                   event_id=event.event_id)
        try:
            b64 = self.in_conv.convert_b64(audio)
        except ValueError:
            raise ClientEventError("audio is not valid base64.", code="invalid_value", param="audio",
                                   event_id=event.event_id) from None
        out: list[Action] = []
        if b64:
            self._audio_out(b64, out)
        return out

    def _audio_out(self, b64: str, out: list[Action]) -> None:
        self._ensure_audio(out)
        ms = (len(b64) * 3 // 4 - b64.count("=", -2)) / _BYTES_PER_MS_16K
        self.input_ms += ms
        self.audio_since_turn_ms += ms
        if self.settings.continuation_replay_max_s > 0:
            self.replay.append((b64, ms))
            self.replay_ms += ms
            cap = self.settings.continuation_replay_max_s * 1000
            while self.replay_ms > cap and len(self.replay) > 1:
                self.replay_ms -= self.replay.popleft()[1]
        out.append(self._send(wire.audio_input(self.prompt, self.audio_name, b64)))

    def _audio_commit(self, event: Event) -> list[Action]:
        if self.audio_since_turn_ms <= 0:
            raise ClientEventError(
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio.",
                code="input_audio_buffer_commit_empty", event_id=event.event_id)
        out: list[Action] = []
        tail = self.in_conv.flush()
        if tail:
            self._audio_out(base64.b64encode(tail).decode("ascii"), out)
        # Nova detects the end of a turn from silence; push-to-talk clients stop
        # sending audio, so give it the silence it needs.
        n = self.settings.commit_silence_ms * _BYTES_PER_MS_16K
        if n:
            self._audio_out(base64.b64encode(bytes(n)).decode("ascii"), out)
        self.absorb_create = True
        return out

    def _audio_clear(self, event: Event) -> list[Action]:
        self.in_conv.reset()
        return [ToClient(self._ev("input_audio_buffer.cleared"))]

    def _output_audio_clear(self, event: Event) -> list[Action]:
        raise UnsupportedEventError("output_audio_buffer.clear is for WebRTC/SIP sessions only.",
                                    event_id=event.event_id)

    # ---------------------------------------------------------------- items

    def _item_create(self, event: Event) -> list[Action]:
        eid = event.event_id
        item = event.data.get("item")
        if not isinstance(item, dict):
            raise ClientEventError("conversation.item.create needs an 'item' object.", param="item", event_id=eid)
        kind = item.get("type")
        item = dict(item)
        item_id = item.get("id") or self.ids("item")
        if item_id in self.conv:
            raise ClientEventError(f"Item {item_id!r} already exists.", code="item_already_exists",
                                   param="item.id", event_id=eid)
        item["id"] = item_id
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        out: list[Action] = []
        if kind == "message":
            role = item.get("role")
            content = item.get("content")
            if role not in ("user", "assistant", "system") or not isinstance(content, list) or not content:
                raise ClientEventError("a message item needs role user/assistant/system and content.",
                                       param="item", event_id=eid)
            for i, c in enumerate(content):
                ctype = c.get("type") if isinstance(c, dict) else None
                if ctype == "input_image":
                    raise UnsupportedEventError("Nova Sonic does not accept images.",
                                                param=f"item.content[{i}]", event_id=eid)
                if ctype == "input_audio" and not c.get("transcript"):
                    raise UnsupportedEventError(
                        "Nova Sonic cannot take audio items; send the audio with input_audio_buffer.append "
                        "or give the item a transcript.", param=f"item.content[{i}]", event_id=eid)
                if ctype not in ("input_text", "input_audio", "output_text", "output_audio", "text", "audio"):
                    raise ClientEventError(f"unsupported content type {ctype!r}.",
                                           param=f"item.content[{i}].type", event_id=eid)
            text = item_text(item)
            if role == "user":
                self.pending_user.append((item_id, text))
            elif role == "assistant":
                if self.prompt_open and not self.audio_open:
                    out.extend(self._send(e) for e in wire.text_block(
                        self.prompt, self.ids("content"), "ASSISTANT", text, interactive=False))
                # after the audio block has started, it is context for the next stream only
            else:  # system: part of the SYSTEM block, from the next prompt on
                pass
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            output = item.get("output")
            if not isinstance(call_id, str) or not isinstance(output, str):
                raise ClientEventError("function_call_output needs call_id and output strings.",
                                       param="item", event_id=eid)
            if call_id in self.pending_calls:
                del self.pending_calls[call_id]
                self._ensure_prompt(out)
                out.extend(self._send(e) for e in wire.tool_result_block(
                    self.prompt, self.ids("content"), call_id, output))
                # Nova continues on its own after a tool result.
                self.absorb_create = True
                self.discarding = False
            elif not any(it.get("call_id") == call_id and it.get("type") == "function_call" for it in self.conv.items()):
                raise ClientEventError(f"No function call with call_id {call_id!r} is waiting for output.",
                                       param="item.call_id", event_id=eid)
        elif kind == "function_call":
            if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
                raise ClientEventError("function_call needs call_id and name.", param="item", event_id=eid)
            item.setdefault("arguments", "{}")
        else:
            raise ClientEventError(f"unsupported item type {kind!r}.", param="item.type", event_id=eid)
        prev = self.conv.add(item, event.data.get("previous_item_id"))
        out.append(ToClient(self._ev("conversation.item.added", previous_item_id=prev, item=item)))
        out.append(ToClient(self._ev("conversation.item.done", previous_item_id=prev, item=item)))
        if kind == "message" and item.get("role") == "system" and self.prompt_open:
            self.reconfigure = True
            out += self._begin_handover("reconfigure")
        return out

    def _item_retrieve(self, event: Event) -> list[Action]:
        item_id = event.data.get("item_id")
        item = self.conv.get(item_id) if isinstance(item_id, str) else None
        if item is None:
            raise ClientEventError(f"Item {item_id!r} does not exist.", code="item_not_found",
                                   param="item_id", event_id=event.event_id)
        return [ToClient(self._ev("conversation.item.retrieved", item=item))]

    def _item_delete(self, event: Event) -> list[Action]:
        item_id = event.data.get("item_id")
        if not isinstance(item_id, str) or not self.conv.delete(item_id):
            raise ClientEventError(f"Item {item_id!r} does not exist.", code="item_not_found",
                                   param="item_id", event_id=event.event_id)
        self.pending_user[:] = [p for p in self.pending_user if p[0] != item_id]
        return [ToClient(self._ev("conversation.item.deleted", item_id=item_id))]

    def _item_truncate(self, event: Event) -> list[Action]:
        d = event.data
        item_id = d.get("item_id")
        item = self.conv.get(item_id) if isinstance(item_id, str) else None
        if item is None or item.get("role") != "assistant":
            raise ClientEventError(f"Assistant item {item_id!r} does not exist.", code="item_not_found",
                                   param="item_id", event_id=event.event_id)
        end = d.get("audio_end_ms")
        if not isinstance(end, int) or end < 0:
            raise ClientEventError("audio_end_ms must be a non-negative integer.", param="audio_end_ms",
                                   event_id=event.event_id)
        # Nova keeps its own context; rt marks its copy so history reflects
        # that the user did not hear the rest.
        for c in item.get("content") or ():
            if isinstance(c, dict) and c.get("type") == "output_audio":
                c.pop("audio", None)
        return [ToClient(self._ev("conversation.item.truncated", item_id=item_id,
                                  content_index=d.get("content_index", 0), audio_end_ms=end))]

    # ---------------------------------------------------------------- responses

    def _response_create(self, event: Event) -> list[Action]:
        eid = event.event_id
        params = event.data.get("response") or {}
        if not isinstance(params, dict):
            raise ClientEventError("response must be an object.", param="response", event_id=eid)
        if params.get("conversation") == "none" or params.get("input") is not None:
            raise UnsupportedEventError(
                "Nova Sonic cannot generate out-of-band responses (conversation 'none' or custom input).",
                param="response.conversation", event_id=eid)
        out: list[Action] = []
        for key in ("instructions", "tools", "tool_choice", "voice"):
            if params.get(key) is not None:
                out.append(ToClient(error_event(
                    f"Nova Sonic fixes {key} per session; the response.{key} override is ignored "
                    "(use session.update).", code="unsupported_parameter", param=f"response.{key}",
                    event_id=eid, ids=self.ids)))
        expect = {"metadata": params.get("metadata")}
        if "output_modalities" in params:
            expect["modalities"] = self._modalities(params["output_modalities"], "response.output_modalities", eid)
        if self.pending_user:
            if not self.nova2:
                raise UnsupportedEventError(
                    f"{self.model_id} answers speech only; text turns need amazon.nova-2-sonic-v1:0.",
                    param="item", event_id=eid)
            if self.resp is not None:
                raise ClientEventError("Conversation already has an active response in progress.",
                                       code="conversation_already_has_active_response", event_id=eid)
            self._ensure_prompt(out)
            text = "\n".join(t for _, t in self.pending_user)
            self.pending_user.clear()
            out.extend(self._send(e) for e in wire.text_block(self.prompt, self.ids("content"), "USER", text, interactive=True))
            self.discarding = False
            self.suppress_user_echo = True
            self.absorb_create = False
            self.expect = expect
            return out
        if self.absorb_create:
            # After a tool result or a commit Nova answers by itself: this
            # response.create names that response.
            self.absorb_create = False
            if self.resp is not None:
                if expect.get("metadata") is not None:
                    self.resp.metadata = expect["metadata"]
            else:
                self.expect = expect
            return out
        if self.resp is not None:
            raise ClientEventError("Conversation already has an active response in progress.",
                                   code="conversation_already_has_active_response", event_id=eid)
        raise UnsupportedEventError(
            "Nova Sonic only answers user input: speak (input_audio_buffer.append) or add a user message first.",
            code="unsupported_event", event_id=eid)

    def _response_cancel(self, event: Event) -> list[Action]:
        rid = event.data.get("response_id")
        if self.resp is None or (rid is not None and rid != self.resp.id):
            raise ClientEventError("Cancellation failed: no active response found.",
                                   code="response_cancel_not_active", event_id=event.event_id)
        out: list[Action] = []
        self._finish_response(out, "cancelled", reason="client_cancelled")
        self.discarding = True
        return out

    _INBOUND: dict[str, Callable[[NovaTranslator, Event], list[Action]]] = {}

    # ================================================================== Nova events

    def _on_nova(self, frame: bytes | bytearray | str) -> list[Action]:
        try:
            name, body = wire.parse_output(bytes(frame) if isinstance(frame, bytearray) else frame)
        except ValueError as exc:
            return [ToClient(error_event(f"Amazon Bedrock sent an unreadable event: {exc}",
                                         code="upstream_protocol_error", type="server_error", ids=self.ids))]
        handler = self._OUTBOUND.get(name)
        if handler is None:
            return []
        out: list[Action] = []
        handler(self, body, out)
        return out

    def _on_content_start(self, b: dict[str, Any], out: list[Action]) -> None:
        cid = b.get("contentId")
        ctype, role = b.get("type"), b.get("role")
        kind = "ignore"
        if ctype == "TEXT" and role == "USER":
            kind = "user"
            if self.suppress_user_echo:
                kind = "ignore"
            else:
                self.discarding = False
                self._open_user_turn(out)
        elif ctype == "TEXT" and role == "ASSISTANT":
            stage = wire.generation_stage(b)
            if stage == "FINAL":
                kind = "final" if self.resp is not None and not self.discarding else "ignore"
            elif not self.discarding:
                kind = "spec"
                self._start_response(out)
                assert self.resp is not None
                self.resp.spec_blocks += 1
        elif ctype == "AUDIO":
            if not self.discarding:
                kind = "audio"
                self._start_response(out)
                assert self.resp is not None
                self.resp.audio_open = True
                if self.resp.audio:
                    self._open_part(out)
        elif ctype == "TOOL":
            if not self.discarding:
                kind = "tool"
                self._start_response(out)
        if isinstance(cid, str):
            self.content_kind[cid] = kind

    def _on_text(self, b: dict[str, Any], out: list[Action]) -> None:
        text = b.get("content")
        if not isinstance(text, str):
            return
        if wire.is_interruption(text):
            self._barge_in(out)
            return
        kind = self.content_kind.get(b.get("contentId"), "ignore")  # type: ignore[arg-type]
        r = self.resp
        if kind == "user":
            self._user_text(text, out)
        elif kind == "spec" and r is not None:
            self._open_part(out)
            delta = text if not r.spec else " " + text
            r.spec.append(text)
            assert r.item is not None
            if r.audio:
                out.append(ToClient(self._ev("response.output_audio_transcript.delta", response_id=r.id,
                                             item_id=r.item["id"], output_index=r.item_index, content_index=0,
                                             delta=delta)))
            else:
                out.append(ToClient(self._ev("response.output_text.delta", response_id=r.id, item_id=r.item["id"],
                                             output_index=r.item_index, content_index=0, delta=delta)))
        elif kind == "final" and r is not None:
            r.final.append(text)

    def _on_audio(self, b: dict[str, Any], out: list[Action]) -> None:
        r = self.resp
        if r is None or not r.audio or self.content_kind.get(b.get("contentId")) != "audio":  # type: ignore[arg-type]
            return
        content = b.get("content")
        if not isinstance(content, str):
            return
        try:
            delta = self.out_conv.convert_b64(content)
        except ValueError:
            log.warning("Nova Sonic sent audio that is not valid base64; dropped")
            return
        r.audio_ms += len(content) * 3 / 4 / 48  # 24 kHz pcm16: 48 bytes per ms
        if delta:
            self._audio_delta(delta, out)

    def _audio_delta(self, delta: str, out: list[Action]) -> None:
        r = self.resp
        assert r is not None and r.item is not None
        self._open_part(out)
        out.append(ToClient(self._ev("response.output_audio.delta", response_id=r.id, item_id=r.item["id"],
                                     output_index=r.item_index, content_index=0, delta=delta)))

    def _on_tool_use(self, b: dict[str, Any], out: list[Action]) -> None:
        if self.content_kind.get(b.get("contentId")) != "tool" or self.resp is None:  # type: ignore[arg-type]
            return
        call_id, name = b.get("toolUseId"), b.get("toolName")
        if not isinstance(call_id, str) or not isinstance(name, str):
            return
        args = b.get("content")
        if not isinstance(args, str):
            args = "{}" if args is None else dumps(args)
        r = self.resp
        self._close_message(out, "completed")
        item = {"id": self.ids("item"), "object": "realtime.item", "type": "function_call", "status": "in_progress",
                "call_id": call_id, "name": name, "arguments": ""}
        index = len(r.output)
        out.append(ToClient(self._ev("response.output_item.added", response_id=r.id, output_index=index, item=item)))
        prev = self.conv.add(dict(item))
        out.append(ToClient(self._ev("conversation.item.added", previous_item_id=prev, item=item)))
        out.append(ToClient(self._ev("response.function_call_arguments.delta", response_id=r.id, item_id=item["id"],
                                     output_index=index, call_id=call_id, delta=args)))
        out.append(ToClient(self._ev("response.function_call_arguments.done", response_id=r.id, item_id=item["id"],
                                     output_index=index, call_id=call_id, name=name, arguments=args)))
        done = {**item, "status": "completed", "arguments": args}
        self.conv.get(item["id"]).update(done)  # type: ignore[union-attr]
        out.append(ToClient(self._ev("response.output_item.done", response_id=r.id, output_index=index, item=done)))
        out.append(ToClient(self._ev("conversation.item.done", previous_item_id=prev, item=done)))
        r.output.append(done)
        self.pending_calls[call_id] = name

    def _on_content_end(self, b: dict[str, Any], out: list[Action]) -> None:
        kind = self.content_kind.pop(b.get("contentId"), "ignore")  # type: ignore[arg-type]
        stop = b.get("stopReason")
        r = self.resp
        if stop == "INTERRUPTED" and kind in ("spec", "final", "audio"):
            self._barge_in(out)
            return
        if r is None:
            return
        if kind == "audio":
            r.audio_open = False
            if r.audio:
                tail = self.out_conv.flush()
                if tail:
                    self._audio_delta(base64.b64encode(tail).decode("ascii"), out)
        elif kind == "final":
            r.final_blocks += 1
        elif kind == "tool":
            # Nova waits for the tool result: the response is complete.
            self._finish_response(out, "completed")
            return
        if stop == "END_TURN" and kind in ("spec", "final", "audio"):
            r.end_turn = True
        if r.end_turn and not r.audio_open and r.final_blocks >= r.spec_blocks:
            self._finish_response(out, "completed")

    def _on_usage(self, b: dict[str, Any], out: list[Action]) -> None:
        total = (b.get("details") or {}).get("total") or {}
        tin, tout = total.get("input") or {}, total.get("output") or {}

        def n(v: Any) -> int:
            return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0

        in_total = n(b.get("totalInputTokens")) or n(tin.get("speechTokens")) + n(tin.get("textTokens"))
        out_total = n(b.get("totalOutputTokens")) or n(tout.get("speechTokens")) + n(tout.get("textTokens"))
        self.usage_stream = [in_total, out_total, n(tin.get("speechTokens")), n(tin.get("textTokens")),
                             n(tout.get("speechTokens")), n(tout.get("textTokens"))]

    def _on_completion_end(self, b: dict[str, Any], out: list[Action]) -> None:
        if self.resp is not None and not self.pending_calls:
            self._finish_response(out, "completed")

    _OUTBOUND: dict[str, Callable[[NovaTranslator, dict[str, Any], list[Action]], None]] = {}

    # ---------------------------------------------------------------- user turns

    def _open_user_turn(self, out: list[Action]) -> None:
        if self.user is not None:
            return
        self.user = _UserTurn(self.ids("item"), self.turn_mark_ms)
        out.append(ToClient(self._ev("input_audio_buffer.speech_started", audio_start_ms=int(self.turn_mark_ms),
                                     item_id=self.user.item_id)))

    def _user_text(self, text: str, out: list[Action]) -> None:
        u = self.user
        if u is None:
            self._open_user_turn(out)
            u = self.user
            assert u is not None
        u.text.append(text)
        # What the user said so far is now known to Nova's context: it need not
        # be replayed into a new stream.
        self.replay.clear()
        self.replay_ms = 0.0
        self.turn_mark_ms = self.input_ms
        if self.transcription is not None:
            out.append(ToClient(self._ev("conversation.item.input_audio_transcription.delta", item_id=u.item_id,
                                         content_index=0, delta=text if len(u.text) == 1 else " " + text)))

    def _close_user_turn(self, out: list[Action]) -> None:
        u = self.user
        if u is None:
            return
        self.user = None
        self.audio_since_turn_ms = 0.0
        transcript = " ".join(u.text)
        item = {"id": u.item_id, "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": transcript}]}
        out.append(ToClient(self._ev("input_audio_buffer.speech_stopped", audio_end_ms=int(self.input_ms),
                                     item_id=u.item_id)))
        prev = self.conv.add(item)
        out.append(ToClient(self._ev("input_audio_buffer.committed", previous_item_id=prev, item_id=u.item_id)))
        out.append(ToClient(self._ev("conversation.item.added", previous_item_id=prev, item=item)))
        out.append(ToClient(self._ev("conversation.item.done", previous_item_id=prev, item=item)))
        if self.transcription is not None:
            out.append(ToClient(self._ev("conversation.item.input_audio_transcription.completed", item_id=u.item_id,
                                         content_index=0, transcript=transcript,
                                         usage={"type": "duration", "seconds": max(0.0, round((self.input_ms - u.start_ms) / 1000, 3))})))
        self.absorb_create = True  # a client in manual mode may still ask for this response

    # ---------------------------------------------------------------- responses

    def _start_response(self, out: list[Action]) -> None:
        if self.resp is not None:
            return
        self._close_user_turn(out)
        self.suppress_user_echo = False
        expect, self.expect = self.expect or {}, None
        modalities = expect.get("modalities") or list(self.modalities)
        r = self.resp = _Response(self.ids("resp"), modalities, expect.get("metadata"))
        self.out_conv.reset()
        out.append(ToClient(self._ev("response.created", response=self._response_obj(r, "in_progress"))))

    def _open_part(self, out: list[Action]) -> None:
        r = self.resp
        assert r is not None
        if r.item is None:
            r.item = {"id": self.ids("item"), "object": "realtime.item", "type": "message", "role": "assistant",
                      "status": "in_progress", "content": []}
            r.item_index = len(r.output)
            out.append(ToClient(self._ev("response.output_item.added", response_id=r.id, output_index=r.item_index,
                                         item=r.item)))
            prev = self.conv.add(dict(r.item, content=[]))
            out.append(ToClient(self._ev("conversation.item.added", previous_item_id=prev, item=r.item)))
        if not r.part_open:
            r.part_open = True
            part = {"type": "audio", "transcript": ""} if r.audio else {"type": "text", "text": ""}
            out.append(ToClient(self._ev("response.content_part.added", response_id=r.id, item_id=r.item["id"],
                                         output_index=r.item_index, content_index=0, part=part)))

    def _close_message(self, out: list[Action], status: str) -> None:
        """Finish the assistant message of the current response, if any."""
        r = self.resp
        if r is None or r.item is None:
            return
        item_id = r.item["id"]
        text = " ".join(r.final) if r.final else " ".join(r.spec)
        if r.audio:
            content = {"type": "output_audio", "transcript": text}
            part = {"type": "audio", "transcript": text}
        else:
            content = {"type": "output_text", "text": text}
            part = {"type": "text", "text": text}
        base = {"response_id": r.id, "item_id": item_id, "output_index": r.item_index, "content_index": 0}
        if r.part_open:
            if r.audio:
                out.append(ToClient(self._ev("response.output_audio.done", **base)))
                out.append(ToClient(self._ev("response.output_audio_transcript.done", **base, transcript=text)))
            else:
                out.append(ToClient(self._ev("response.output_text.done", **base, text=text)))
            out.append(ToClient(self._ev("response.content_part.done", **base, part=part)))
        item = {**r.item, "status": status, "content": [content]}
        out.append(ToClient(self._ev("response.output_item.done", response_id=r.id, output_index=r.item_index,
                                     item=item)))
        stored = self.conv.get(item_id)
        if stored is not None:
            stored.update(item)
        out.append(ToClient(self._ev("conversation.item.done", previous_item_id=None, item=item)))
        r.output.append(item)
        r.item = None
        r.part_open = False

    def _finish_response(self, out: list[Action], status: str, *, reason: str | None = None,
                         error: dict[str, Any] | None = None, promote: bool = True) -> None:
        r = self.resp
        if r is None:
            return
        self._close_message(out, "completed" if status == "completed" else "incomplete")
        self.resp = None
        self.content_kind = {k: v for k, v in self.content_kind.items() if v == "user"}
        obj = self._response_obj(r, status, reason=reason, error=error)
        out.append(ToClient(self._ev("response.done", response=obj)))
        self.absorb_create = False
        if status == "completed":
            self.recoveries = 0
        if promote:
            out += self._maybe_promote()

    def _response_obj(self, r: _Response, status: str, *, reason: str | None = None,
                      error: dict[str, Any] | None = None) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": r.id, "object": "realtime.response", "status": status,
            "status_details": None, "output": list(r.output), "conversation_id": None,
            "output_modalities": list(r.modalities),
            "audio": {"output": {"format": self.out_format.to_openai(), "voice": self.voice or "alloy"}},
            "max_output_tokens": self.max_output_tokens, "metadata": r.metadata, "usage": None,
        }
        if status != "in_progress":
            if status != "completed":
                details: dict[str, Any] = {"type": status}
                if reason:
                    details["reason"] = reason
                if error:
                    details["error"] = {"type": error.get("type"), "code": error.get("code")}
                obj["status_details"] = details
            obj["usage"] = self._usage_delta()
        return obj

    def _usage_delta(self) -> dict[str, Any]:
        now = [c + s for c, s in zip(self.usage_closed, self.usage_stream)]
        d = [max(0, a - b) for a, b in zip(now, self.usage_reported)]
        self.usage_reported = now
        in_t, out_t, in_sp, in_tx, out_sp, out_tx = d
        return {
            "total_tokens": in_t + out_t, "input_tokens": in_t, "output_tokens": out_t,
            "input_token_details": {"text_tokens": in_tx, "audio_tokens": in_sp, "image_tokens": 0,
                                    "cached_tokens": 0,
                                    "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
            "output_token_details": {"text_tokens": out_tx, "audio_tokens": out_sp},
        }

    def _barge_in(self, out: list[Action]) -> None:
        if self.user is None:
            self._open_user_turn(out)
        if self.resp is not None:
            self._finish_response(out, "cancelled", reason="turn_detected")
        self.discarding = True

    # ================================================================== continuation

    def _on_timer(self, t: TimerFired) -> list[Action]:
        if t.name == TIMER_CONTINUE or t.name == TIMER_RETRY:
            return self._begin_handover("age")
        if t.name == TIMER_DEADLINE:
            if self.next_state == "ready":
                return self._promote(forced=True)
            self.promote_asap = True
            return []
        return []

    def _begin_handover(self, reason: str) -> list[Action]:
        if self.next_state is not None:
            return self._maybe_promote() if self.next_state == "ready" else []
        self._gen_counter += 1
        self.next_gen = self._gen_counter
        self.next_state = "opening"
        self.handover_reason = reason
        out: list[Action] = [ToUpstream(OpenStream(self.next_gen, (self.session_start_event(),)))]
        if reason == "age":
            remaining = self.settings.deadline_s() - (self.clock() - self.stream_started)
            out.append(Schedule(max(0.0, remaining), TimerFired(TIMER_DEADLINE)))
        elif reason == "recover":
            self.promote_asap = True
        return out

    def _on_stream_opened(self, s: StreamOpened) -> list[Action]:
        if s.gen != self.next_gen:
            return []
        self.next_state = "ready"
        self.handover_failures = 0
        if self.promote_asap:
            return self._promote(forced=True)
        return self._maybe_promote()

    def _on_stream_failed(self, s: StreamFailed) -> list[Action]:
        if s.gen != self.next_gen:
            return []
        reason = self.handover_reason
        self.next_gen = self.next_state = None
        self.handover_failures += 1
        if self.stream_dead:
            return self._recover_or_close(s.error)
        if self.handover_failures >= MAX_RECOVERIES:
            return []  # keep using the current stream until it ends
        retry = 2.0 if reason != "reconfigure" else 0.5
        return [Schedule(retry, TimerFired(TIMER_RETRY))]

    def _at_boundary(self) -> bool:
        return self.resp is None and self.user is None and not self.pending_calls

    def _maybe_promote(self) -> list[Action]:
        if self.next_state == "ready" and (self._at_boundary() or self.promote_asap):
            return self._promote(forced=not self._at_boundary())
        return []

    def _promote(self, *, forced: bool) -> list[Action]:
        out: list[Action] = []
        if self.resp is not None:
            self._finish_response(out, "incomplete", promote=False)
        if self.user is not None:
            self._close_user_turn(out)
        if self.pending_calls:
            # The new stream cannot take these results as tool results; they
            # arrive as history on a later stream.
            self.pending_calls.clear()
        assert self.next_gen is not None
        had_audio, had_prompt = self.audio_open, self.prompt_open
        close_events: list[str] = []
        if not self.stream_dead:
            if had_audio:
                close_events.append(wire.content_end(self.prompt, self.audio_name))
            if had_prompt:
                close_events.append(wire.prompt_end(self.prompt))
            close_events.append(wire.session_end())
        self.gen = self.next_gen
        events: list[str] = []
        if had_prompt or had_audio or self.pending_user or len(self.conv):
            events = self._prompt_events()
            self.prompt_open = True
            self.audio_open = False
            if had_audio:
                events.append(wire.audio_start(self.prompt, self.audio_name))
                self.audio_open = True
                events.extend(wire.audio_input(self.prompt, self.audio_name, b64) for b64, _ in self.replay)
        else:
            self.prompt_open = self.audio_open = False
        out.append(ToUpstream(PromoteStream(self.gen, tuple(events), tuple(close_events))))
        self.usage_closed = [c + s for c, s in zip(self.usage_closed, self.usage_stream)]
        self.usage_stream = [0, 0, 0, 0, 0, 0]
        self.content_kind.clear()
        self.discarding = False
        self.suppress_user_echo = False
        self.stream_dead = False
        self.next_gen = self.next_state = None
        self.promote_asap = False
        self.reconfigure = False
        self.handovers += 1
        self.stream_started = self.clock()
        out.append(Schedule(-1, TimerFired(TIMER_DEADLINE)))
        if self.settings.continuation_after_s > 0:
            out.append(Schedule(self.settings.continuation_after_s, TimerFired(TIMER_CONTINUE)))
        return out

    def _on_stream_lost(self, s: StreamError | StreamEnded) -> list[Action]:
        if s.gen != self.gen:
            return []
        err = s.error if isinstance(s, StreamError) else NovaError(
            "TransportError", "the Nova Sonic stream ended unexpectedly")
        self.stream_dead = True
        return self._recover_or_close(err)

    def _recover_or_close(self, err: NovaError) -> list[Action]:
        out: list[Action] = []
        can_recover = (self.settings.recover_stream_errors and err.recoverable and self.recoveries < MAX_RECOVERIES)
        error, close = error_for(err)
        if self.resp is not None:
            self._finish_response(out, "incomplete" if can_recover else "failed", error=error, promote=False)
        if not can_recover:
            if self.next_gen is not None:
                out.append(ToUpstream(DropStream(self.next_gen)))
            out.append(Close(close, error["code"], error))
            return out
        self.recoveries += 1
        if self.next_state == "ready":
            out += self._promote(forced=True)
        elif self.next_state == "opening":
            self.promote_asap = True
        else:
            out += self._begin_handover("recover")
        return out


NovaTranslator._INBOUND = {
    "session.update": NovaTranslator._session_update,
    "input_audio_buffer.append": NovaTranslator._audio_append,
    "input_audio_buffer.commit": NovaTranslator._audio_commit,
    "input_audio_buffer.clear": NovaTranslator._audio_clear,
    "output_audio_buffer.clear": NovaTranslator._output_audio_clear,
    "conversation.item.create": NovaTranslator._item_create,
    "conversation.item.retrieve": NovaTranslator._item_retrieve,
    "conversation.item.delete": NovaTranslator._item_delete,
    "conversation.item.truncate": NovaTranslator._item_truncate,
    "response.create": NovaTranslator._response_create,
    "response.cancel": NovaTranslator._response_cancel,
}

NovaTranslator._OUTBOUND = {
    "contentStart": NovaTranslator._on_content_start,
    "textOutput": NovaTranslator._on_text,
    "audioOutput": NovaTranslator._on_audio,
    "toolUse": NovaTranslator._on_tool_use,
    "contentEnd": NovaTranslator._on_content_end,
    "usageEvent": NovaTranslator._on_usage,
    "completionEnd": NovaTranslator._on_completion_end,
}
