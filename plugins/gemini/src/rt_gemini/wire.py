"""Gemini Live wire messages: pydantic models and fast frame builders.

The models mirror the ``BidiGenerateContent`` messages as they travel on the
wire (camelCase JSON, one top-level key per client message), checked against
google-genai 3.4.0's ``types.LiveClientMessage`` / ``LiveServerMessage``.  They
are used where clarity matters more than speed: building ``setup``,
``clientContent`` and ``toolResponse``, and in tests and the fake server.

The audio hot path does not go through pydantic: :func:`audio_frame_head`
gives a fixed template per input sample rate (cached), the translator splices
the base64 text into it; server frames are read with ``json.loads`` (see
:func:`parse_server_frame`), except the one shape that carries the reply's
audio, which :func:`server_audio_part` recognises without building dicts.

Server → client frames arrive as JSON in *binary* WebSocket frames (Google's
service sends opcode 2); client → server frames are sent as text.
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from rt_core import dumps
from rt_core.events import loads_relayable

__all__ = [
    "WireModel", "Blob", "FunctionCall", "FunctionResponse", "Part", "Content",
    "FunctionDeclaration", "Tool", "PrebuiltVoiceConfig", "VoiceConfig", "SpeechConfig",
    "ThinkingConfig", "GenerationConfig", "AutomaticActivityDetection", "RealtimeInputConfig",
    "AudioTranscriptionConfig", "SessionResumptionConfig", "SlidingWindow",
    "ContextWindowCompressionConfig", "Setup", "ClientContent", "ToolResponse",
    "OUTPUT_AUDIO_RATE", "INPUT_AUDIO_RATE", "MIN_INPUT_RATE", "MAX_INPUT_RATE", "AUDIO_FRAME_PREFIX",
    "AUDIO_FRAME_TAIL", "input_audio_mime", "audio_frame_head", "setup_frame", "audio_frame", "client_content_frame", "tool_response_frame", "text_input_frame",
    "ACTIVITY_START_FRAME", "ACTIVITY_END_FRAME", "AUDIO_STREAM_END_FRAME",
    "parse_server_frame", "server_audio_part", "audio_part_message", "parse_duration",
]

#: Gemini Live's native input rate (pcm16).  Google resamples pcm16 sent at any
#: other rate declared in the Blob's ``mimeType`` (``audio/pcm;rate=24000``).
INPUT_AUDIO_RATE = 16000
#: Gemini Live always produces 24 kHz pcm16.
OUTPUT_AUDIO_RATE = 24000
#: Input rates rt declares to Gemini (the range OpenAI-style clients may use).
MIN_INPUT_RATE = 8000
MAX_INPUT_RATE = 48000


def input_audio_mime(rate: int) -> str:
    """The ``mimeType`` of pcm16 input audio at ``rate`` Hz: ``audio/pcm;rate=<rate>``.

    :raises ValueError: a rate outside 8000..48000 Hz (Gemini closes the
        connection with 1007 on a nonsense rate, which would end the session).
    """
    if type(rate) is not int or not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
        raise ValueError(f"input audio rate must be an integer from {MIN_INPUT_RATE} to {MAX_INPUT_RATE}, got {rate!r}")
    return f"audio/pcm;rate={rate}"


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        """The JSON-ready dict (camelCase, unset/None fields omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True)


# --------------------------------------------------------------------------- content


class Blob(WireModel):
    mime_type: str
    data: str  # base64 (standard alphabet)


class FunctionCall(WireModel):
    id: str | None = None
    name: str
    args: dict[str, Any] | None = None


class FunctionResponse(WireModel):
    id: str | None = None
    name: str
    response: dict[str, Any]
    scheduling: Literal["SILENT", "WHEN_IDLE", "INTERRUPT"] | None = None
    will_continue: bool | None = None  # AI Studio only


class Part(WireModel):
    text: str | None = None
    inline_data: Blob | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None


class Content(WireModel):
    role: Literal["user", "model"] | None = None
    parts: list[Part]


# --------------------------------------------------------------------------- setup


class FunctionDeclaration(WireModel):
    name: str
    description: str | None = None
    #: The client's JSON Schema, passed through unchanged (no lossy conversion
    #: to Gemini's OpenAPI-subset ``parameters``).
    parameters_json_schema: Any = None
    behavior: Literal["BLOCKING", "NON_BLOCKING"] | None = None


class Tool(WireModel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None


class PrebuiltVoiceConfig(WireModel):
    voice_name: str


class VoiceConfig(WireModel):
    prebuilt_voice_config: PrebuiltVoiceConfig


class SpeechConfig(WireModel):
    voice_config: VoiceConfig | None = None
    language_code: str | None = None


class ThinkingConfig(WireModel):
    thinking_budget: int | None = None
    include_thoughts: bool | None = None
    thinking_level: Literal["MINIMAL", "LOW", "MEDIUM", "HIGH"] | None = None


class GenerationConfig(WireModel):
    response_modalities: list[Literal["TEXT", "AUDIO"]] | None = None
    speech_config: SpeechConfig | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    thinking_config: ThinkingConfig | None = None


class AutomaticActivityDetection(WireModel):
    disabled: bool | None = None
    start_of_speech_sensitivity: Literal["START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"] | None = None
    end_of_speech_sensitivity: Literal["END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"] | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(WireModel):
    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: Literal["START_OF_ACTIVITY_INTERRUPTS", "NO_INTERRUPTION"] | None = None
    turn_coverage: Literal["TURN_INCLUDES_ONLY_ACTIVITY", "TURN_INCLUDES_ALL_INPUT"] | None = None


class AudioTranscriptionConfig(WireModel):
    pass


class SessionResumptionConfig(WireModel):
    handle: str | None = None
    transparent: bool | None = None  # Vertex only


class SlidingWindow(WireModel):
    target_tokens: int | None = None


class ContextWindowCompressionConfig(WireModel):
    trigger_tokens: int | None = None
    sliding_window: SlidingWindow | None = None


class Setup(WireModel):
    """The ``setup`` message: the first and only configuration of a connection."""

    model: str
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompressionConfig | None = None


class ClientContent(WireModel):
    turns: list[Content] | None = None
    turn_complete: bool | None = None


class ToolResponse(WireModel):
    function_responses: list[FunctionResponse]


# --------------------------------------------------------------------------- frames


def setup_frame(setup: Setup) -> str:
    return dumps({"setup": setup.wire()})


#: Every frame :func:`audio_frame` makes starts with this, whatever its rate.
AUDIO_FRAME_PREFIX = '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate='
#: ... and ends with this.
AUDIO_FRAME_TAIL = '"}}}'


@cache
def audio_frame_head(rate: int) -> str:
    """The text of a ``realtimeInput.audio`` frame for pcm16 at ``rate`` Hz up to
    its base64 data: ``head + b64 + AUDIO_FRAME_TAIL`` is the whole frame.

    One template per rate, built once: the translator keeps the head of the rate
    in force, so the per-20-ms hot path is two string concatenations (base64
    never needs JSON escaping) and no JSON serialisation.

    :raises ValueError: see :func:`input_audio_mime`.
    """
    return '{"realtimeInput":{"audio":{"mimeType":"' + input_audio_mime(rate) + '","data":"'


def audio_frame(b64: str, rate: int) -> str:
    """A ``realtimeInput.audio`` frame for pcm16 at ``rate`` Hz in standard base64."""
    return audio_frame_head(rate) + b64 + AUDIO_FRAME_TAIL


ACTIVITY_START_FRAME = '{"realtimeInput":{"activityStart":{}}}'
ACTIVITY_END_FRAME = '{"realtimeInput":{"activityEnd":{}}}'
AUDIO_STREAM_END_FRAME = '{"realtimeInput":{"audioStreamEnd":true}}'


def text_input_frame(text: str) -> str:
    return dumps({"realtimeInput": {"text": text}})


def client_content_frame(turns: list[dict[str, Any]], turn_complete: bool) -> str:
    body: dict[str, Any] = {"turnComplete": turn_complete}
    if turns:
        body = {"turns": turns, "turnComplete": turn_complete}
    return dumps({"clientContent": body})


def tool_response_frame(responses: list[dict[str, Any]]) -> str:
    return dumps({"toolResponse": {"functionResponses": responses}})


def parse_server_frame(frame: str | bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode one server frame (JSON, usually in a binary frame).

    :raises ValueError: not JSON, not an object, or JSON rt could not relay
        (:func:`rt_core.events.loads_relayable`: too deep, an unpaired
        surrogate escape).
    """
    if isinstance(frame, (memoryview, bytearray)):
        frame = bytes(frame)
    data = loads_relayable(frame)
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object from Gemini, got {type(data).__name__}")
    return data


#: ``json``'s own (C) string scanner: ``(text, index after the opening quote)`` →
#: ``(value, index after the closing quote)``; ValueError on an invalid string.
#: (typeshed does not declare it.)
_scanstring: Callable[[str, int], tuple[str, int]] = getattr(json.decoder, "scanstring")

# JSON's own whitespace (RFC 8259), the same set ``json.loads`` skips.
_WS = r"[ \t\n\r]*"


def _open(key: str) -> str:
    return r"\{" + _WS + '"' + key + '"' + _WS + ":" + _WS


#: ``{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/…","data":"``
#: in any JSON spacing; group 1 is the MIME type (no escapes in it).
_AUDIO_PART_HEAD = re.compile(
    _WS + _open("serverContent") + _open("modelTurn") + _open("parts") + r"\[" + _WS + _open("inlineData")
    + r'\{' + _WS + '"mimeType"' + _WS + ":" + _WS + r'"(audio/[^"\\\x00-\x1f]*)"' + _WS + "," + _WS
    + '"data"' + _WS + ":" + _WS + '"'
)
#: What follows the ``data`` string: ``}}]}}}`` in any JSON spacing, then nothing.
_AUDIO_PART_TAIL = re.compile(_WS + (r"\}" + _WS) * 2 + r"\]" + _WS + (r"\}" + _WS) * 3)


_AUDIO_OUT_MIME = f"audio/pcm;rate={OUTPUT_AUDIO_RATE}"
_COMPACT_AUDIO_HEAD = '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"' + _AUDIO_OUT_MIME + '","data":"'
#: What follows the ``data`` string in a compact frame (no regex needed).
_COMPACT_AUDIO_TAIL = "}}]}}}"
#: Exact heads (up to the data string) of the audio frames seen on the wire:
#: compact, and Python's default ``json.dumps`` spacing.  Anything else goes
#: through :data:`_AUDIO_PART_HEAD`.
_KNOWN_AUDIO_HEADS = (_COMPACT_AUDIO_HEAD, _COMPACT_AUDIO_HEAD.replace(",", ", ").replace(":", ": "))


def server_audio_part(frame: str | bytes) -> tuple[str, str] | None:
    """``(mimeType, data)`` when ``frame`` is exactly a one-part audio message::

        {"serverContent": {"modelTurn": {"parts": [
            {"inlineData": {"mimeType": "audio/…", "data": "<base64>"}}]}}}

    in any JSON whitespace, with no escape in the ``data`` string, else
    ``None`` (the caller then parses the frame).  So ``data`` holds no quote,
    backslash or control character, and can be spliced into JSON as it is.

    This is the frame Gemini streams a reply's audio in, dozens per second:
    recognising it costs a fraction of ``json.loads`` and builds no dicts.  The
    ``data`` string is decoded by :mod:`json`'s own string scanner, so escapes
    and invalid strings mean what they mean to ``json.loads``; any other key,
    key order or value shape is left to the general path.  When this returns a
    pair, ``json.loads(frame) == audio_part_message(*pair)``.
    """
    if type(frame) is bytes:
        try:
            text = frame.decode()
        except UnicodeDecodeError:
            return None
    elif type(frame) is str:
        text = frame
    else:
        return None
    for head in _KNOWN_AUDIO_HEADS:  # no regex needed
        if text.startswith(head):
            mime, start = _AUDIO_OUT_MIME, len(head)
            break
    else:
        m = _AUDIO_PART_HEAD.match(text)
        if m is None:
            return None
        mime, start = m.group(1), m.end()
    try:
        data, end = _scanstring(text, start)
    except ValueError:
        return None
    if end != start + len(data) + 1:
        return None  # escapes in the audio: what they decode to must not be spliced into JSON as it is
    if (end != len(text) - 6 or not text.endswith(_COMPACT_AUDIO_TAIL)) and _AUDIO_PART_TAIL.fullmatch(text, end) is None:
        return None
    return mime, data


def audio_part_message(mime: str, data: str) -> dict[str, Any]:
    """The parsed form of the frame :func:`server_audio_part` recognised."""
    return {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": mime, "data": data}}]}}}


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(s|ms)?\s*$")


def parse_duration(value: Any) -> float | None:
    """Seconds in a protobuf JSON ``Duration`` (``"10s"``, ``"1.5s"``) or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            n = float(m.group(1))
            return n / 1000.0 if m.group(2) == "ms" else n
    if isinstance(value, dict):  # {"seconds": "10", "nanos": 0}
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None
