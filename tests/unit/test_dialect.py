"""Tests for ``rt_core.dialect``: beta <-> GA OpenAI Realtime conversion.

The openai SDK's two sets of pydantic types are the ground truth.  Converted
events are validated against the member of the SDK union for their ``type``
(the union itself gives one error per member -- unreadable), and because the
SDK models accept unknown keys, every key the model does not declare is
collected and must be on an explicit allow-list: a misspelt or leftover field
fails the test instead of slipping through as an "extra".
"""

from __future__ import annotations

import copy
import functools
import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.beta.realtime import RealtimeClientEvent as BetaClientEvent
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeClientEvent as GAClientEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent
from openai.types.realtime.response_item_reference import ResponseItemReference
from pydantic import BaseModel, TypeAdapter, ValidationError

from rt_core import ClientEventError
from rt_core.dialect import (
    BETA_RENAMES,
    GA_ONLY_SERVER_EVENTS,
    GA_RENAMES,
    BetaUpstreamState,
    client_to_beta,
    client_to_ga,
    format_to_beta,
    format_to_ga,
    rename_type_in_text,
    server_to_beta,
    server_to_ga,
    session_to_beta,
    session_to_ga,
)

Json = dict[str, Any]

# --------------------------------------------------------------------------- SDK validation


def _members(union: Any) -> dict[str, type[BaseModel]]:
    """event type -> SDK model class, for every member of an SDK event union."""
    found: dict[str, type[BaseModel]] = {}

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            (event_type,) = typing.get_args(annotation.model_fields["type"].annotation)
            found[event_type] = annotation
        else:
            for arg in typing.get_args(annotation):
                walk(arg)

    walk(union)
    return found


GA_SERVER = _members(GAServerEvent)
GA_CLIENT = _members(GAClientEvent)
BETA_SERVER = _members(BetaServerEvent)
BETA_CLIENT = _members(BetaClientEvent)


@functools.cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _extras(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths (list indexes as ``[]``) of keys the SDK models did not declare."""
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}{key}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, list):
        for item in value:
            yield from _extras(item, path[:-1] + "[].")


def validate(models: dict[str, type[BaseModel]], event: Json, allowed_extras: frozenset[str] = frozenset()) -> None:
    """``event`` must be a member of the union ``models`` was built from, with
    no undeclared keys beyond ``allowed_extras``."""
    model = models.get(event["type"])
    assert model is not None, f"{event['type']!r} is not an event type of this dialect/direction"
    try:
        parsed = _adapter(model).validate_python(event)
    except ValidationError as exc:
        pytest.fail(f"{event['type']} does not validate against {model.__name__}:\n{exc}")
    unexpected = set(_extras(parsed)) - allowed_extras
    assert not unexpected, f"{event['type']}: keys the SDK model does not declare: {sorted(unexpected)}"


def validate_ga_client(event: Json, allowed_extras: frozenset[str] = frozenset()) -> None:
    """GA client events, allowing ``item_reference`` entries in ``response.input``.

    The SDK sends those (``ResponseCreateEventWithReferencesParam``) but its
    pydantic ``ResponseCreateEvent`` does not list them, so each reference is
    validated against ``ResponseItemReference`` and the rest as usual.
    """
    response = event.get("response")
    if event["type"] == "response.create" and isinstance(response, dict) and isinstance(response.get("input"), list):
        refs = [i for i in response["input"] if i.get("type") == "item_reference"]
        for ref in refs:
            parsed = _adapter(ResponseItemReference).validate_python(ref)
            assert not parsed.model_extra, ref
        rest = [i for i in response["input"] if i.get("type") != "item_reference"]
        event = {**event, "response": {**response, "input": rest}}
    validate(GA_CLIENT, event, allowed_extras)


# Keys the SDK models do not declare but that real servers send, or that rt
# keeps on purpose.  Each group says why.
REAL_GA_SERVER_EXTRAS = frozenset(
    {
        # GA session.created/updated carry these; the SDK types the session as the *request* model.
        "session.id",
        "session.object",
        "session.expires_at",
    }
)
BETA_SERVER_EXTRAS = frozenset(
    {
        # Beta servers sent these on session objects too; the beta SDK model omits them.
        "session.object",
        "session.expires_at",
        "session.include",
        "session.id",
        # GA-only session settings, kept so a beta client sees the real configuration.
        "session.prompt",
        "session.truncation",
        "session.turn_detection.idle_timeout_ms",
        # Beta *transcription* session model is the REST one: no noise reduction field.
        "session.input_audio_noise_reduction",
        # GA function_call_arguments.done adds the function name; harmless to beta clients.
        "name",
    }
)
GA_FROM_BETA_EXTRAS = REAL_GA_SERVER_EXTRAS | frozenset(
    {
        # Kept from beta on purpose (GA dropped temperature; translated providers use it).
        "session.temperature",
        "response.temperature",
    }
)


# --------------------------------------------------------------------------- GA server corpus

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}

GA_SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9G5QPteg4UIbotdKLoYQ",
    "model": "gpt-realtime-2025-08-28",
    "output_modalities": ["audio"],
    "instructions": "You are a friendly assistant.",
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "prompt": None,
    "truncation": "auto",
    "expires_at": 1756324625,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "whisper-1", "language": "en", "prompt": "weather"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
}

GA_TEXT_SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9G5QPteg4UIbotdKLoYR",
    "model": "gpt-realtime",
    "output_modalities": ["text"],
    "instructions": "Answer briefly.",
    "tools": [],
    "tool_choice": "none",
    "max_output_tokens": 512,
    "tracing": "auto",
    "expires_at": 1756324700,
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {"type": "semantic_vad", "eagerness": "high", "create_response": True, "interrupt_response": False},
        },
        "output": {"format": {"type": "audio/pcma"}, "voice": "alloy", "speed": 1.2},
    },
}

GA_TRANSCRIPTION_SESSION = {
    "type": "transcription",
    "object": "realtime.transcription_session",
    "id": "sess_C9GT9wPUVxSPHDhbHQFlP",
    "expires_at": 1756326000,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": ""},
            "noise_reduction": {"type": "far_field"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
        }
    },
    "include": ["item.input_audio_transcription.logprobs"],
}

USER_AUDIO_ITEM = {
    "id": "item_C9G5Rhx7Xs6mVxwcC1v4u",
    "type": "message",
    "object": "realtime.item",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": None}],
}
ASSISTANT_PENDING_ITEM = {
    "id": "item_C9G5S1b2pRk2W0oOZ7yIl",
    "type": "message",
    "object": "realtime.item",
    "status": "in_progress",
    "role": "assistant",
    "content": [],
}
ASSISTANT_AUDIO_ITEM = {
    "id": "item_C9G5S1b2pRk2W0oOZ7yIl",
    "type": "message",
    "object": "realtime.item",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_audio", "transcript": "It is sunny in Paris."}],
}
ASSISTANT_TEXT_ITEM = {
    "id": "item_C9G5T3uj7yRZcDpBf3KsS",
    "type": "message",
    "object": "realtime.item",
    "status": "incomplete",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "It is sun"}],
}
FUNCTION_CALL_ITEM = {
    "id": "item_C9G5U0Gk2S5Xu1jZBbN5d",
    "type": "function_call",
    "object": "realtime.item",
    "status": "completed",
    "name": "get_weather",
    "call_id": "call_5pVc1mdRkUuWz6gI",
    "arguments": '{"city":"Paris"}',
}
FUNCTION_OUTPUT_ITEM = {
    "id": "item_C9G5V7Lk0eUgCFKDHhM4n",
    "type": "function_call_output",
    "object": "realtime.item",
    "status": "completed",
    "call_id": "call_5pVc1mdRkUuWz6gI",
    "output": '{"temperature_c":21,"sky":"clear"}',
}

GA_USAGE = {
    "total_tokens": 1507,
    "input_tokens": 1170,
    "output_tokens": 337,
    "input_token_details": {
        "text_tokens": 1098,
        "audio_tokens": 72,
        "image_tokens": 0,
        "cached_tokens": 1024,
        "cached_tokens_details": {"text_tokens": 1024, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 66, "audio_tokens": 271},
}

RESP = "resp_C9G5SIydu0S1pQ9KUjZTS"
DELTA_IDS = {"response_id": RESP, "item_id": ASSISTANT_AUDIO_ITEM["id"], "output_index": 0, "content_index": 0}


def _ev(n: int) -> str:
    return f"event_C9G5{n:05d}"


GA_SERVER_CORPUS: list[Json] = [
    {"type": "session.created", "event_id": _ev(1), "session": GA_SESSION},
    {"type": "session.updated", "event_id": _ev(2), "session": GA_TEXT_SESSION},
    {"type": "session.updated", "event_id": _ev(3), "session": GA_TRANSCRIPTION_SESSION},
    {"type": "conversation.created", "event_id": _ev(4), "conversation": {"id": "conv_C9G5RhMZ", "object": "realtime.conversation"}},
    {"type": "input_audio_buffer.speech_started", "event_id": _ev(5), "audio_start_ms": 1024, "item_id": USER_AUDIO_ITEM["id"]},
    {"type": "input_audio_buffer.speech_stopped", "event_id": _ev(6), "audio_end_ms": 2944, "item_id": USER_AUDIO_ITEM["id"]},
    {"type": "input_audio_buffer.committed", "event_id": _ev(7), "previous_item_id": None, "item_id": USER_AUDIO_ITEM["id"]},
    {"type": "input_audio_buffer.cleared", "event_id": _ev(8)},
    {"type": "conversation.item.added", "event_id": _ev(9), "previous_item_id": None, "item": USER_AUDIO_ITEM},
    {"type": "conversation.item.created", "event_id": _ev(10), "previous_item_id": FUNCTION_CALL_ITEM["id"], "item": FUNCTION_OUTPUT_ITEM},
    {"type": "conversation.item.retrieved", "event_id": _ev(11), "item": ASSISTANT_AUDIO_ITEM},
    {"type": "conversation.item.deleted", "event_id": _ev(12), "item_id": FUNCTION_OUTPUT_ITEM["id"]},
    {"type": "conversation.item.truncated", "event_id": _ev(13), "item_id": ASSISTANT_AUDIO_ITEM["id"], "content_index": 0, "audio_end_ms": 1500},
    {"type": "conversation.item.input_audio_transcription.delta", "event_id": _ev(14), "item_id": USER_AUDIO_ITEM["id"], "content_index": 0, "delta": "What's the"},
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "event_id": _ev(15),
        "item_id": USER_AUDIO_ITEM["id"],
        "content_index": 0,
        "transcript": "What's the weather in Paris?",
        "usage": {"type": "tokens", "total_tokens": 29, "input_tokens": 19, "output_tokens": 10, "input_token_details": {"text_tokens": 0, "audio_tokens": 19}},
        "logprobs": None,
    },
    {
        "type": "conversation.item.input_audio_transcription.failed",
        "event_id": _ev(16),
        "item_id": USER_AUDIO_ITEM["id"],
        "content_index": 0,
        "error": {"type": "transcription_error", "code": "audio_unintelligible", "message": "The audio could not be transcribed.", "param": None},
    },
    {
        "type": "rate_limits.updated",
        "event_id": _ev(17),
        "rate_limits": [
            {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 60},
            {"name": "tokens", "limit": 50000, "remaining": 48493, "reset_seconds": 1.8},
        ],
    },
    {
        "type": "error",
        "event_id": _ev(18),
        "error": {"type": "invalid_request_error", "code": "invalid_value", "message": "Invalid value: 'pcm8'.", "param": "session.audio.input.format", "event_id": "evt_client_1"},
    },
    {
        "type": "response.created",
        "event_id": _ev(19),
        "response": {
            "object": "realtime.response",
            "id": RESP,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": "conv_C9G5RhMZ",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
            "usage": None,
            "metadata": None,
        },
    },
    {"type": "response.output_item.added", "event_id": _ev(20), "response_id": RESP, "output_index": 0, "item": ASSISTANT_PENDING_ITEM},
    {"type": "conversation.item.added", "event_id": _ev(21), "previous_item_id": USER_AUDIO_ITEM["id"], "item": ASSISTANT_PENDING_ITEM},
    {"type": "response.content_part.added", "event_id": _ev(22), **DELTA_IDS, "part": {"type": "audio", "transcript": ""}},
    {"type": "response.output_audio.delta", "event_id": _ev(23), **DELTA_IDS, "delta": "UklGRiQAAABXQVZFZm10IBAAAAABAAEA"},
    {"type": "response.output_audio_transcript.delta", "event_id": _ev(24), **DELTA_IDS, "delta": "It is sunny"},
    {"type": "output_audio_buffer.started", "event_id": _ev(25), "response_id": RESP},
    {"type": "response.output_audio.done", "event_id": _ev(26), **DELTA_IDS},
    {"type": "response.output_audio_transcript.done", "event_id": _ev(27), **DELTA_IDS, "transcript": "It is sunny in Paris."},
    {"type": "response.content_part.done", "event_id": _ev(28), **DELTA_IDS, "part": {"type": "audio", "transcript": "It is sunny in Paris."}},
    {"type": "response.output_item.done", "event_id": _ev(29), "response_id": RESP, "output_index": 0, "item": ASSISTANT_AUDIO_ITEM},
    {
        "type": "response.done",
        "event_id": _ev(30),
        "response": {
            "object": "realtime.response",
            "id": RESP,
            "status": "completed",
            "status_details": None,
            "output": [ASSISTANT_AUDIO_ITEM],
            "conversation_id": "conv_C9G5RhMZ",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
            "usage": GA_USAGE,
            "metadata": None,
        },
    },
    {"type": "output_audio_buffer.stopped", "event_id": _ev(31), "response_id": RESP},
    {"type": "output_audio_buffer.cleared", "event_id": _ev(32), "response_id": RESP},
    {"type": "response.output_text.delta", "event_id": _ev(33), **DELTA_IDS, "delta": "It is sun"},
    {"type": "response.output_text.done", "event_id": _ev(34), **DELTA_IDS, "text": "It is sun"},
    {
        "type": "response.content_part.added",
        "event_id": _ev(35),
        **DELTA_IDS,
        "part": {"type": "text", "text": ""},
    },
    {
        "type": "response.output_item.added",
        "event_id": _ev(36),
        "response_id": "resp_C9G5Z",
        "output_index": 0,
        "item": {**FUNCTION_CALL_ITEM, "status": "in_progress", "arguments": ""},
    },
    {
        "type": "response.function_call_arguments.delta",
        "event_id": _ev(37),
        "response_id": "resp_C9G5Z",
        "item_id": FUNCTION_CALL_ITEM["id"],
        "output_index": 0,
        "call_id": FUNCTION_CALL_ITEM["call_id"],
        "delta": '{"city":',
    },
    {
        "type": "response.function_call_arguments.done",
        "event_id": _ev(38),
        "response_id": "resp_C9G5Z",
        "item_id": FUNCTION_CALL_ITEM["id"],
        "output_index": 0,
        "call_id": FUNCTION_CALL_ITEM["call_id"],
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    },
    {
        "type": "response.done",
        "event_id": _ev(39),
        "response": {
            "object": "realtime.response",
            "id": "resp_C9G5Z",
            "status": "incomplete",
            "status_details": {"type": "incomplete", "reason": "max_output_tokens"},
            "output": [FUNCTION_CALL_ITEM, ASSISTANT_TEXT_ITEM],
            "conversation_id": "conv_C9G5RhMZ",
            "output_modalities": ["text"],
            "max_output_tokens": 40,
            "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}},
            "usage": {
                "total_tokens": 250,
                "input_tokens": 210,
                "output_tokens": 40,
                "input_token_details": {"text_tokens": 210, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 40, "audio_tokens": 0},
            },
            "metadata": {"topic": "weather"},
        },
    },
]

GA_ONLY_CORPUS: list[Json] = [
    {"type": "conversation.item.done", "event_id": _ev(50), "previous_item_id": None, "item": USER_AUDIO_ITEM},
    {"type": "input_audio_buffer.timeout_triggered", "event_id": _ev(51), "audio_start_ms": 0, "audio_end_ms": 6000, "item_id": "item_T1"},
    {"type": "input_audio_buffer.dtmf_event_received", "event": "5", "received_at": 1756324640},
    {
        "type": "conversation.item.input_audio_transcription.segment",
        "event_id": _ev(52),
        "item_id": USER_AUDIO_ITEM["id"],
        "content_index": 0,
        "id": "seg_1",
        "text": "What's the weather",
        "speaker": "A",
        "start": 0.0,
        "end": 1.4,
    },
    {"type": "mcp_list_tools.in_progress", "event_id": _ev(53), "item_id": "mcpl_1"},
    {"type": "mcp_list_tools.completed", "event_id": _ev(54), "item_id": "mcpl_1"},
    {"type": "mcp_list_tools.failed", "event_id": _ev(55), "item_id": "mcpl_1"},
    {"type": "response.mcp_call_arguments.delta", "event_id": _ev(56), "response_id": RESP, "item_id": "mcp_1", "output_index": 0, "delta": "{"},
    {"type": "response.mcp_call_arguments.done", "event_id": _ev(57), "response_id": RESP, "item_id": "mcp_1", "output_index": 0, "arguments": "{}"},
    {"type": "response.mcp_call.in_progress", "event_id": _ev(58), "item_id": "mcp_1", "output_index": 0},
    {"type": "response.mcp_call.completed", "event_id": _ev(59), "item_id": "mcp_1", "output_index": 0},
    {"type": "response.mcp_call.failed", "event_id": _ev(60), "item_id": "mcp_1", "output_index": 0},
]


def _ids(corpus: list[Json]) -> list[str]:
    return [f"{i}-{e['type']}" for i, e in enumerate(corpus)]


# --------------------------------------------------------------------------- beta client corpus

BETA_SESSION_UPDATE = {
    "type": "session.update",
    "event_id": "evt_client_001",
    "session": {
        "model": "gpt-realtime",
        "modalities": ["text", "audio"],
        "instructions": "You are a friendly assistant.",
        "voice": "verse",
        "input_audio_format": "pcm16",
        "output_audio_format": "g711_alaw",
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe", "language": "fr", "prompt": "météo"},
        "input_audio_noise_reduction": {"type": "far_field"},
        "turn_detection": {
            "type": "server_vad",
            "threshold": 0.6,
            "prefix_padding_ms": 250,
            "silence_duration_ms": 400,
            "create_response": True,
            "interrupt_response": True,
        },
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "temperature": 0.7,
        "max_response_output_tokens": 1024,
        "speed": 1.1,
        "tracing": {"workflow_name": "support", "group_id": "g1", "metadata": {"tier": "gold"}},
    },
}

BETA_CLIENT_CORPUS: list[Json] = [
    BETA_SESSION_UPDATE,
    {"type": "session.update", "session": {"turn_detection": None, "input_audio_transcription": None, "input_audio_noise_reduction": None}},
    {"type": "session.update", "session": {"modalities": ["text"], "turn_detection": {"type": "semantic_vad", "eagerness": "low"}}},
    {
        "type": "transcription_session.update",
        "event_id": "evt_client_002",
        "session": {
            "input_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": ""},
            "input_audio_noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
            "include": ["item.input_audio_transcription.logprobs"],
        },
    },
    {"type": "input_audio_buffer.append", "event_id": "evt_client_003", "audio": "AAAAAP//AQA="},
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.clear"},
    {"type": "output_audio_buffer.clear", "event_id": "evt_client_004"},
    {
        "type": "conversation.item.create",
        "event_id": "evt_client_005",
        "previous_item_id": "root",
        "item": {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
    },
    {
        "type": "conversation.item.create",
        "item": {"id": "item_u1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi!"}, {"type": "input_audio", "audio": "AAAA", "transcript": "hi"}]},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "assistant", "status": "completed", "content": [{"type": "text", "text": "Hello, how can I help?"}]},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature_c":21}'},
    },
    {"type": "conversation.item.retrieve", "item_id": "item_u1"},
    {"type": "conversation.item.truncate", "item_id": "item_a1", "content_index": 0, "audio_end_ms": 1500},
    {"type": "conversation.item.delete", "event_id": "evt_client_006", "item_id": "item_u1"},
    {"type": "response.create"},
    {
        "type": "response.create",
        "event_id": "evt_client_007",
        "response": {
            "modalities": ["text", "audio"],
            "instructions": "Summarise.",
            "voice": "sage",
            "output_audio_format": "pcm16",
            "tools": [WEATHER_TOOL],
            "tool_choice": "required",
            "temperature": 0.9,
            "max_response_output_tokens": "inf",
            "conversation": "none",
            "metadata": {"purpose": "summary"},
            "input": [
                {"type": "item_reference", "id": "item_u1"},
                {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Earlier answer."}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Summarise that."}]},
            ],
        },
    },
    {"type": "response.create", "response": {"modalities": ["text"], "max_response_output_tokens": 200}},
    {"type": "response.cancel", "response_id": RESP},
]

# Beta events the conversion cannot give back exactly (defaults filled in,
# REST-only fields dropped, non-canonical spellings).  Tested field by field below.
LOSSY_BETA_CLIENT = [
    {"type": "session.update", "session": {"turn_detection": {"threshold": 0.4}}},
    {"type": "session.update", "session": {"modalities": ["audio"], "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 60}}}},
]

# --------------------------------------------------------------------------- GA client corpus

GA_CLIENT_CORPUS: list[Json] = [
    {
        "type": "session.update",
        "event_id": "evt_ga_001",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "output_modalities": ["audio"],
            "instructions": "You are a friendly assistant.",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "whisper-1"},
                    "noise_reduction": {"type": "near_field"},
                    "turn_detection": {"type": "semantic_vad", "eagerness": "auto", "create_response": True},
                },
                "output": {"format": {"type": "audio/pcmu"}, "voice": "ash", "speed": 0.9},
            },
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "max_output_tokens": 2048,
            "tracing": "auto",
        },
    },
    {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
    },
    {
        "type": "session.update",
        "event_id": "evt_ga_002",
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcma"},
                    "transcription": {"model": "gpt-4o-mini-transcribe", "language": "de"},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 700},
                }
            },
            "include": ["item.input_audio_transcription.logprobs"],
        },
    },
    {"type": "input_audio_buffer.append", "audio": "AAAAAP//AQA="},
    {"type": "input_audio_buffer.commit", "event_id": "evt_ga_003"},
    {"type": "input_audio_buffer.clear"},
    {"type": "output_audio_buffer.clear"},
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello."}]},
    },
    {
        "type": "conversation.item.create",
        "previous_item_id": "item_u1",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
    },
    {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_1", "output": "{}"}},
    {"type": "conversation.item.retrieve", "item_id": "item_u1"},
    {"type": "conversation.item.truncate", "item_id": "item_a1", "content_index": 0, "audio_end_ms": 900},
    {"type": "conversation.item.delete", "item_id": "item_u1"},
    {"type": "response.create", "event_id": "evt_ga_004"},
    {
        "type": "response.create",
        "response": {
            "output_modalities": ["text"],
            "instructions": "One word.",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "coral"}},
            "max_output_tokens": 16,
            "conversation": "auto",
            "tool_choice": "none",
            "input": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Yes."}]}],
        },
    },
    {"type": "response.cancel"},
]

# --------------------------------------------------------------------------- beta server stream (a beta upstream)

BETA_ASSISTANT_PENDING = {**ASSISTANT_PENDING_ITEM}
BETA_ASSISTANT_DONE = {**ASSISTANT_AUDIO_ITEM, "content": [{"type": "audio", "transcript": "It is sunny in Paris."}]}
BETA_CALL_PENDING = {**FUNCTION_CALL_ITEM, "status": "in_progress", "arguments": ""}
BETA_DELTA_IDS = {"response_id": RESP, "item_id": BETA_ASSISTANT_DONE["id"], "output_index": 0, "content_index": 0}

BETA_SERVER_STREAM: list[Json] = [
    {
        "type": "session.created",
        "event_id": "event_B1",
        "session": {
            "id": "sess_B1",
            "object": "realtime.session",
            "model": "gpt-4o-realtime-preview-2024-12-17",
            "expires_at": 1734626723,
            "modalities": ["audio", "text"],
            "instructions": "Be nice.",
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": None,
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200, "create_response": True, "interrupt_response": True},
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
            "speed": 1.0,
            "tracing": None,
        },
    },
    {
        "type": "transcription_session.updated",
        "event_id": "event_B2",
        "session": {
            "id": "sess_B2",
            "object": "realtime.transcription_session",
            "input_audio_format": "g711_alaw",
            "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": ""},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
            "input_audio_noise_reduction": {"type": "near_field"},
            "include": [],
            "client_secret": None,
        },
    },
    {"type": "input_audio_buffer.committed", "event_id": "event_B3", "previous_item_id": None, "item_id": USER_AUDIO_ITEM["id"]},
    {"type": "conversation.item.created", "event_id": "event_B4", "previous_item_id": None, "item": USER_AUDIO_ITEM},
    {
        "type": "response.created",
        "event_id": "event_B5",
        "response": {
            "object": "realtime.response",
            "id": RESP,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": "conv_B",
            "modalities": ["audio", "text"],
            "voice": "alloy",
            "output_audio_format": "pcm16",
            "temperature": 0.8,
            "max_output_tokens": "inf",
            "usage": None,
            "metadata": None,
        },
    },
    {"type": "response.output_item.added", "event_id": "event_B6", "response_id": RESP, "output_index": 0, "item": BETA_ASSISTANT_PENDING},
    {"type": "conversation.item.created", "event_id": "event_B7", "previous_item_id": USER_AUDIO_ITEM["id"], "item": BETA_ASSISTANT_PENDING},
    {"type": "response.content_part.added", "event_id": "event_B8", **BETA_DELTA_IDS, "part": {"type": "audio", "transcript": ""}},
    {"type": "response.audio.delta", "event_id": "event_B9", **BETA_DELTA_IDS, "delta": "AAAA"},
    {"type": "response.audio_transcript.delta", "event_id": "event_B10", **BETA_DELTA_IDS, "delta": "It is"},
    {"type": "response.audio.done", "event_id": "event_B11", **BETA_DELTA_IDS},
    {"type": "response.audio_transcript.done", "event_id": "event_B12", **BETA_DELTA_IDS, "transcript": "It is sunny in Paris."},
    {"type": "response.text.delta", "event_id": "event_B13", **BETA_DELTA_IDS, "delta": "It"},
    {"type": "response.text.done", "event_id": "event_B14", **BETA_DELTA_IDS, "text": "It"},
    {"type": "response.content_part.done", "event_id": "event_B15", **BETA_DELTA_IDS, "part": {"type": "audio", "transcript": "It is sunny in Paris."}},
    {"type": "response.output_item.done", "event_id": "event_B16", "response_id": RESP, "output_index": 0, "item": BETA_ASSISTANT_DONE},
    {"type": "response.output_item.added", "event_id": "event_B17", "response_id": RESP, "output_index": 1, "item": BETA_CALL_PENDING},
    {"type": "conversation.item.created", "event_id": "event_B18", "previous_item_id": BETA_ASSISTANT_DONE["id"], "item": BETA_CALL_PENDING},
    {
        "type": "response.function_call_arguments.delta",
        "event_id": "event_B19",
        "response_id": RESP,
        "item_id": FUNCTION_CALL_ITEM["id"],
        "output_index": 1,
        "call_id": FUNCTION_CALL_ITEM["call_id"],
        "delta": '{"city":"Paris"}',
    },
    {
        "type": "response.function_call_arguments.done",
        "event_id": "event_B20",
        "response_id": RESP,
        "item_id": FUNCTION_CALL_ITEM["id"],
        "output_index": 1,
        "call_id": FUNCTION_CALL_ITEM["call_id"],
        "arguments": '{"city":"Paris"}',
    },
    {"type": "response.output_item.done", "event_id": "event_B21", "response_id": RESP, "output_index": 1, "item": FUNCTION_CALL_ITEM},
    {
        "type": "response.done",
        "event_id": "event_B22",
        "response": {
            "object": "realtime.response",
            "id": RESP,
            "status": "completed",
            "status_details": None,
            "output": [BETA_ASSISTANT_DONE, FUNCTION_CALL_ITEM],
            "conversation_id": "conv_B",
            "modalities": ["audio", "text"],
            "voice": "alloy",
            "output_audio_format": "pcm16",
            "temperature": 0.8,
            "max_output_tokens": "inf",
            "usage": {
                "total_tokens": 300,
                "input_tokens": 200,
                "output_tokens": 100,
                "input_token_details": {"text_tokens": 150, "audio_tokens": 50, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 20, "audio_tokens": 80},
            },
            "metadata": None,
        },
    },
    {"type": "rate_limits.updated", "event_id": "event_B23", "rate_limits": [{"name": "requests", "limit": 100, "remaining": 99, "reset_seconds": 60}]},
]


# =========================================================================== tests: the corpora themselves


def test_ga_server_corpus_covers_every_ga_server_event_type() -> None:
    covered = {e["type"] for e in GA_SERVER_CORPUS + GA_ONLY_CORPUS}
    assert covered == set(GA_SERVER)


@pytest.mark.parametrize("event", GA_SERVER_CORPUS + GA_ONLY_CORPUS, ids=_ids(GA_SERVER_CORPUS + GA_ONLY_CORPUS))
def test_ga_server_corpus_is_valid_ga(event: Json) -> None:
    validate(GA_SERVER, event, REAL_GA_SERVER_EXTRAS)


def test_beta_client_corpus_covers_every_beta_client_event_type() -> None:
    assert {e["type"] for e in BETA_CLIENT_CORPUS} == set(BETA_CLIENT)


@pytest.mark.parametrize("event", BETA_CLIENT_CORPUS + LOSSY_BETA_CLIENT, ids=_ids(BETA_CLIENT_CORPUS + LOSSY_BETA_CLIENT))
def test_beta_client_corpus_is_valid_beta(event: Json) -> None:
    validate(BETA_CLIENT, event)


def test_ga_client_corpus_covers_every_ga_client_event_type() -> None:
    assert {e["type"] for e in GA_CLIENT_CORPUS} == set(GA_CLIENT)


@pytest.mark.parametrize("event", GA_CLIENT_CORPUS, ids=_ids(GA_CLIENT_CORPUS))
def test_ga_client_corpus_is_valid_ga(event: Json) -> None:
    validate_ga_client(event)


@pytest.mark.parametrize("event", BETA_SERVER_STREAM, ids=_ids(BETA_SERVER_STREAM))
def test_beta_server_stream_is_valid_beta(event: Json) -> None:
    if event["type"] == "transcription_session.updated":
        # The SDK reuses the REST model here, whose client_secret is required;
        # over the WebSocket it is null.  Fill a placeholder for validation only.
        event = {**event, "session": {**event["session"], "client_secret": {"value": "placeholder", "expires_at": 0}}}
    validate(BETA_SERVER, event, BETA_SERVER_EXTRAS | {"session.temperature", "response.temperature"})


# =========================================================================== server_to_beta


@pytest.mark.parametrize("event", GA_SERVER_CORPUS, ids=_ids(GA_SERVER_CORPUS))
def test_server_to_beta_output_validates_against_the_beta_sdk(event: Json) -> None:
    beta = server_to_beta(event)
    assert beta is not None
    if beta["type"] == "transcription_session.updated":
        assert "client_secret" not in beta["session"]  # never invent a secret
        beta = {**beta, "session": {**beta["session"], "client_secret": {"value": "placeholder", "expires_at": 0}}}
    validate(BETA_SERVER, beta, BETA_SERVER_EXTRAS)


def test_server_to_beta_produces_every_beta_server_event_type() -> None:
    produced = {server_to_beta(e)["type"] for e in GA_SERVER_CORPUS}  # type: ignore[index]
    assert produced == set(BETA_SERVER)


@pytest.mark.parametrize("event", GA_ONLY_CORPUS, ids=_ids(GA_ONLY_CORPUS))
def test_server_to_beta_drops_ga_only_events(event: Json) -> None:
    assert server_to_beta(event) is None


def test_ga_only_event_set_matches_the_sdk_unions() -> None:
    """Every GA server type without a beta namesake or rename is in the drop set,
    except the two that are mapped (``conversation.item.added``)."""
    mapped = set(BETA_SERVER) | set(BETA_RENAMES) | {"conversation.item.added"}
    assert set(GA_SERVER) - mapped == set(GA_ONLY_SERVER_EVENTS)


def test_item_lifecycle_gives_a_beta_client_one_created_per_item() -> None:
    """A GA turn (added + done per item) becomes exactly one ``created`` per item."""
    ga_turn = [
        {"type": "input_audio_buffer.committed", "event_id": "e1", "previous_item_id": None, "item_id": "item_u"},
        {"type": "conversation.item.added", "event_id": "e2", "previous_item_id": None, "item": {**USER_AUDIO_ITEM, "id": "item_u"}},
        {"type": "conversation.item.done", "event_id": "e3", "previous_item_id": None, "item": {**USER_AUDIO_ITEM, "id": "item_u"}},
        {"type": "response.output_item.added", "event_id": "e4", "response_id": RESP, "output_index": 0, "item": ASSISTANT_PENDING_ITEM},
        {"type": "conversation.item.added", "event_id": "e5", "previous_item_id": "item_u", "item": ASSISTANT_PENDING_ITEM},
        {"type": "response.output_item.done", "event_id": "e6", "response_id": RESP, "output_index": 0, "item": ASSISTANT_AUDIO_ITEM},
        {"type": "conversation.item.done", "event_id": "e7", "previous_item_id": "item_u", "item": ASSISTANT_AUDIO_ITEM},
    ]
    out = [b for b in map(server_to_beta, ga_turn) if b is not None]
    created = [b["item"]["id"] for b in out if b["type"] == "conversation.item.created"]
    assert created == ["item_u", ASSISTANT_PENDING_ITEM["id"]]
    assert [b["type"] for b in out] == [
        "input_audio_buffer.committed",
        "conversation.item.created",
        "response.output_item.added",
        "conversation.item.created",
        "response.output_item.done",
    ]
    assert out[1]["previous_item_id"] is None and out[3]["previous_item_id"] == "item_u"


def test_server_to_beta_flattens_the_realtime_session() -> None:
    beta = server_to_beta(GA_SERVER_CORPUS[0])
    assert beta is not None and beta["type"] == "session.created" and beta["event_id"] == _ev(1)
    s = beta["session"]
    assert "type" not in s and "audio" not in s and "output_modalities" not in s and "max_output_tokens" not in s
    assert s["modalities"] == ["text", "audio"]
    assert s["input_audio_format"] == "pcm16" and s["output_audio_format"] == "pcm16"
    assert s["voice"] == "marin" and s["speed"] == 1.0
    assert s["input_audio_transcription"] == {"model": "whisper-1", "language": "en", "prompt": "weather"}
    assert s["input_audio_noise_reduction"] == {"type": "near_field"}
    assert s["turn_detection"]["type"] == "server_vad" and s["turn_detection"]["silence_duration_ms"] == 200
    assert s["max_response_output_tokens"] == "inf"
    assert s["tools"] == [WEATHER_TOOL] and s["tool_choice"] == "auto"
    assert s["id"] == GA_SESSION["id"] and s["model"] == GA_SESSION["model"]


def test_server_to_beta_text_session_and_g711_formats() -> None:
    beta = server_to_beta(GA_SERVER_CORPUS[1])
    assert beta is not None
    s = beta["session"]
    assert s["modalities"] == ["text"]
    assert (s["input_audio_format"], s["output_audio_format"]) == ("g711_ulaw", "g711_alaw")
    assert s["turn_detection"] == {"type": "semantic_vad", "eagerness": "high", "create_response": True, "interrupt_response": False}
    assert s["input_audio_transcription"] is None and s["input_audio_noise_reduction"] is None


@pytest.mark.parametrize("kind", ["created", "updated"])
def test_server_to_beta_transcription_session_events(kind: str) -> None:
    event = {"type": f"session.{kind}", "event_id": "e1", "session": GA_TRANSCRIPTION_SESSION}
    beta = server_to_beta(event)
    assert beta is not None and beta["type"] == f"transcription_session.{kind}"
    assert beta["session"]["input_audio_format"] == "pcm16"
    assert beta["session"]["input_audio_transcription"]["model"] == "gpt-4o-transcribe"
    assert beta["session"]["include"] == ["item.input_audio_transcription.logprobs"]
    assert "type" not in beta["session"] and "modalities" not in beta["session"]


def test_server_to_beta_response_object() -> None:
    done = server_to_beta(GA_SERVER_CORPUS[29])
    assert done is not None and done["type"] == "response.done"
    r = done["response"]
    assert r["modalities"] == ["text", "audio"] and "output_modalities" not in r
    assert r["output_audio_format"] == "pcm16" and r["voice"] == "marin" and "audio" not in r
    assert r["max_output_tokens"] == "inf"  # beta's RealtimeResponse keeps this name
    assert r["output"][0]["content"] == [{"type": "audio", "transcript": "It is sunny in Paris."}]
    details = r["usage"]["input_token_details"]
    assert details == {"text_tokens": 1098, "audio_tokens": 72, "cached_tokens": 1024}
    assert r["usage"]["output_token_details"] == GA_USAGE["output_token_details"]
    assert r["usage"]["total_tokens"] == 1507


def test_server_to_beta_renames_item_content_types() -> None:
    beta = server_to_beta(GA_SERVER_CORPUS[38])  # response.done with a function call + text message
    assert beta is not None
    call, text = beta["response"]["output"]
    assert call == FUNCTION_CALL_ITEM
    assert text["content"] == [{"type": "text", "text": "It is sun"}]
    assert beta["response"]["output_audio_format"] == "g711_ulaw"


def test_server_to_beta_keeps_the_function_name() -> None:
    beta = server_to_beta(GA_SERVER_CORPUS[37])
    assert beta is not None and beta["name"] == "get_weather"


def test_server_to_beta_content_part_spelled_like_item_content() -> None:
    event = {"type": "response.content_part.added", "event_id": "e", **DELTA_IDS, "part": {"type": "output_text", "text": ""}}
    beta = server_to_beta(event)
    assert beta is not None and beta["part"] == {"type": "text", "text": ""}


@pytest.mark.parametrize("ga_type", sorted(BETA_RENAMES))
def test_server_to_beta_renames_deltas(ga_type: str) -> None:
    event = {"type": ga_type, "event_id": "e", **DELTA_IDS, "delta": "x"}
    assert server_to_beta(event) == {**event, "type": BETA_RENAMES[ga_type]}


@pytest.mark.parametrize(
    "event",
    [
        e
        for e in GA_SERVER_CORPUS
        if e["type"] in BETA_SERVER
        and e["type"] not in ("session.created", "session.updated", "response.created", "response.done")
        and not (isinstance(e.get("item"), dict) and e["item"].get("role") == "assistant" and e["item"]["content"])
    ]
    + [{"type": "response.brand_new_event", "event_id": "e", "payload": {"x": 1}}, {"no_type": True}],
    ids=lambda e: str(e.get("type")),
)
def test_server_to_beta_returns_the_same_object_when_nothing_changes(event: Json) -> None:
    assert server_to_beta(event) is event


# =========================================================================== client_to_ga


@pytest.mark.parametrize("event", BETA_CLIENT_CORPUS + LOSSY_BETA_CLIENT, ids=_ids(BETA_CLIENT_CORPUS + LOSSY_BETA_CLIENT))
def test_client_to_ga_output_validates_against_the_ga_sdk(event: Json) -> None:
    validate_ga_client(client_to_ga(event), frozenset({"session.temperature", "response.temperature"}))


@pytest.mark.parametrize("event", BETA_CLIENT_CORPUS, ids=_ids(BETA_CLIENT_CORPUS))
def test_beta_client_events_round_trip(event: Json) -> None:
    ga = client_to_ga(event)
    back = client_to_beta(ga)
    if event["type"] == "transcription_session.update":
        assert back["type"] == "transcription_session.update"
    assert back == event


def test_client_to_ga_session_update_field_by_field() -> None:
    ga = client_to_ga(BETA_SESSION_UPDATE)
    assert ga["type"] == "session.update" and ga["event_id"] == "evt_client_001"
    s = ga["session"]
    assert s["type"] == "realtime"
    assert s["output_modalities"] == ["audio"]
    assert s["audio"] == {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-mini-transcribe", "language": "fr", "prompt": "météo"},
            "noise_reduction": {"type": "far_field"},
            "turn_detection": BETA_SESSION_UPDATE["session"]["turn_detection"],
        },
        "output": {"format": {"type": "audio/pcma"}, "voice": "verse", "speed": 1.1},
    }
    assert s["max_output_tokens"] == 1024 and "max_response_output_tokens" not in s
    assert s["temperature"] == 0.7  # kept for translated providers
    assert s["tools"] == [WEATHER_TOOL] and s["tool_choice"] == "auto"
    assert s["instructions"] == "You are a friendly assistant." and s["model"] == "gpt-realtime"
    assert s["tracing"] == BETA_SESSION_UPDATE["session"]["tracing"]
    for beta_key in ("modalities", "voice", "input_audio_format", "output_audio_format", "input_audio_transcription",
                     "input_audio_noise_reduction", "turn_detection", "speed"):
        assert beta_key not in s


def test_client_to_ga_nulls_turn_features_off() -> None:
    ga = client_to_ga(BETA_CLIENT_CORPUS[1])
    assert ga["session"] == {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": None, "noise_reduction": None}}}


@pytest.mark.parametrize(
    ("beta_td", "ga_td"),
    [
        ({}, {"type": "server_vad"}),
        ({"threshold": 0.4}, {"type": "server_vad", "threshold": 0.4}),
        ({"type": None, "silence_duration_ms": 300}, {"type": "server_vad", "silence_duration_ms": 300}),
        ({"type": "server_vad", "eagerness": "low", "threshold": 0.5}, {"type": "server_vad", "threshold": 0.5}),
        (
            {"type": "semantic_vad", "eagerness": "low", "threshold": 0.5, "prefix_padding_ms": 1, "silence_duration_ms": 2, "create_response": False},
            {"type": "semantic_vad", "eagerness": "low", "create_response": False},
        ),
    ],
)
def test_client_to_ga_turn_detection(beta_td: Json, ga_td: Json) -> None:
    ga = client_to_ga({"type": "session.update", "session": {"turn_detection": beta_td}})
    assert ga["session"]["audio"]["input"]["turn_detection"] == ga_td


@pytest.mark.parametrize(
    ("beta", "ga"),
    [(["text"], ["text"]), (["audio"], ["audio"]), (["text", "audio"], ["audio"]), (["audio", "text"], ["audio"])],
)
def test_modalities_both_ways(beta: list[str], ga: list[str]) -> None:
    converted = client_to_ga({"type": "session.update", "session": {"modalities": beta}})
    assert converted["session"]["output_modalities"] == ga
    back = client_to_beta(converted)
    assert back["session"]["modalities"] == (["text", "audio"] if "audio" in ga else ["text"])


def test_client_to_ga_drops_the_rest_only_client_secret() -> None:
    ga = client_to_ga(LOSSY_BETA_CLIENT[1])
    assert ga["session"] == {"type": "realtime", "output_modalities": ["audio"]}


def test_client_to_ga_tool_choice_chat_completions_form() -> None:
    ga = client_to_ga({"type": "session.update", "session": {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}})
    assert ga["session"]["tool_choice"] == {"type": "function", "name": "get_weather"}


def test_client_to_ga_transcription_session_update() -> None:
    event = BETA_CLIENT_CORPUS[3]
    ga = client_to_ga(event)
    assert ga["type"] == "session.update" and ga["event_id"] == "evt_client_002"
    assert ga["session"] == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": ""},
                "noise_reduction": {"type": "near_field"},
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
            }
        },
        "include": ["item.input_audio_transcription.logprobs"],
    }


def test_client_to_ga_transcription_session_drops_modalities_and_secret() -> None:
    ga = client_to_ga(
        {"type": "transcription_session.update", "session": {"modalities": ["text"], "client_secret": {"expires_at": {"anchor": "created_at"}}}}
    )
    assert ga["session"] == {"type": "transcription"}
    validate_ga_client(ga)


def test_client_to_ga_renames_assistant_content_only() -> None:
    ga = client_to_ga(BETA_CLIENT_CORPUS[10])
    assert ga["item"]["content"] == [{"type": "output_text", "text": "Hello, how can I help?"}]
    user = BETA_CLIENT_CORPUS[9]
    assert client_to_ga(user) is user


def test_client_to_ga_response_create_field_by_field() -> None:
    ga = client_to_ga(BETA_CLIENT_CORPUS[17])
    r = ga["response"]
    assert r["output_modalities"] == ["audio"]
    assert r["audio"] == {"output": {"voice": "sage", "format": {"type": "audio/pcm", "rate": 24000}}}
    assert r["max_output_tokens"] == "inf" and r["temperature"] == 0.9
    assert r["conversation"] == "none" and r["metadata"] == {"purpose": "summary"} and r["tool_choice"] == "required"
    assert r["input"][0] == {"type": "item_reference", "id": "item_u1"}
    assert r["input"][1]["content"] == [{"type": "output_text", "text": "Earlier answer."}]
    for beta_key in ("modalities", "voice", "output_audio_format", "max_response_output_tokens"):
        assert beta_key not in r


@pytest.mark.parametrize(
    "event",
    [e for e in BETA_CLIENT_CORPUS if e["type"] in ("input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
                                                      "output_audio_buffer.clear", "conversation.item.retrieve", "conversation.item.truncate",
                                                      "conversation.item.delete", "response.cancel")]
    + [{"type": "response.create"}, {"type": "some.future_event", "x": [1]}, {"type": ["not", "a", "string"]}, {}],
    ids=lambda e: str(e.get("type")),
)
def test_client_to_ga_returns_the_same_object_when_nothing_changes(event: Json) -> None:
    assert client_to_ga(event) is event


@pytest.mark.parametrize(
    ("event", "param"),
    [
        ({"type": "session.update", "event_id": "evt_9", "session": {"input_audio_format": "pcm24"}}, "session.input_audio_format"),
        ({"type": "session.update", "event_id": "evt_9", "session": {"output_audio_format": "mp3"}}, "session.output_audio_format"),
        ({"type": "session.update", "event_id": "evt_9", "session": {"input_audio_format": 16000}}, "session.input_audio_format"),
        ({"type": "transcription_session.update", "event_id": "evt_9", "session": {"input_audio_format": "opus"}}, "session.input_audio_format"),
        ({"type": "response.create", "event_id": "evt_9", "response": {"output_audio_format": "wav"}}, "response.output_audio_format"),
        ({"type": "session.update", "event_id": "evt_9", "session": "pcm16"}, "session"),
        ({"type": "session.update", "event_id": "evt_9"}, "session"),
        (
            {"type": "conversation.item.create", "event_id": "evt_9", "item": {"type": "message", "role": "user",
                                                                             "content": [{"type": "input_text", "text": "a"}, {"type": "item_reference", "id": "x"}]}},
            "item.content[1].type",
        ),
    ],
)
def test_client_to_ga_rejects_what_cannot_be_converted(event: Json, param: str) -> None:
    with pytest.raises(ClientEventError) as info:
        client_to_ga(event)
    err = info.value
    assert err.param == param and err.event_id == "evt_9" and err.code == "invalid_value"
    assert err.to_error()["type"] == "invalid_request_error" and err.message


@pytest.mark.parametrize(
    "event",
    [
        {"type": "session.update", "session": {"audio": "x", "turn_detection": 5, "modalities": "audio", "tools": {}}},
        {"type": "session.update", "session": {"input_audio_format": None, "voice": None, "speed": None}},
        {"type": "conversation.item.create", "item": "text"},
        {"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": "hi"}},
        {"type": "conversation.item.create", "item": {"type": "message", "role": "assistant", "content": [None, 3, {"type": ["x"]}]}},
        {"type": "conversation.item.create"},
        {"type": "response.create", "response": 7},
        {"type": "response.create", "response": {"input": "none", "tool_choice": {"type": "function", "function": "x"}}},
        {"type": "transcription_session.update", "session": {"turn_detection": None}},
    ],
)
def test_client_to_ga_never_crashes_on_odd_shapes(event: Json) -> None:
    try:
        out = client_to_ga(event)
    except ClientEventError:
        return
    assert isinstance(out, dict) and out["type"] in GA_CLIENT


def test_client_to_ga_merges_ga_keys_a_confused_beta_client_sent() -> None:
    ga = client_to_ga({"type": "session.update", "session": {"voice": "echo", "audio": {"output": {"speed": 1.3}, "input": {"format": {"type": "audio/pcmu"}}}}})
    assert ga["session"]["audio"] == {"input": {"format": {"type": "audio/pcmu"}}, "output": {"speed": 1.3, "voice": "echo"}}


# =========================================================================== client_to_beta


@pytest.mark.parametrize("event", GA_CLIENT_CORPUS, ids=_ids(GA_CLIENT_CORPUS))
def test_client_to_beta_output_validates_against_the_beta_sdk(event: Json) -> None:
    validate(BETA_CLIENT, client_to_beta(event))


@pytest.mark.parametrize("event", GA_CLIENT_CORPUS, ids=_ids(GA_CLIENT_CORPUS))
def test_ga_client_events_round_trip(event: Json) -> None:
    assert client_to_ga(client_to_beta(event)) == event


def test_client_to_beta_session_update_field_by_field() -> None:
    beta = client_to_beta(GA_CLIENT_CORPUS[0])
    assert beta == {
        "type": "session.update",
        "event_id": "evt_ga_001",
        "session": {
            "model": "gpt-realtime",
            "modalities": ["text", "audio"],
            "instructions": "You are a friendly assistant.",
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1"},
            "input_audio_noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "semantic_vad", "eagerness": "auto", "create_response": True},
            "output_audio_format": "g711_ulaw",
            "voice": "ash",
            "speed": 0.9,
            "tools": [WEATHER_TOOL],
            "tool_choice": "auto",
            "max_response_output_tokens": 2048,
            "tracing": "auto",
        },
    }


def test_client_to_beta_transcription_session() -> None:
    beta = client_to_beta(GA_CLIENT_CORPUS[2])
    assert beta == {
        "type": "transcription_session.update",
        "event_id": "evt_ga_002",
        "session": {
            "input_audio_format": "g711_alaw",
            "input_audio_transcription": {"model": "gpt-4o-mini-transcribe", "language": "de"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 700},
            "include": ["item.input_audio_transcription.logprobs"],
        },
    }


def test_client_to_beta_response_create() -> None:
    beta = client_to_beta(GA_CLIENT_CORPUS[14])
    r = beta["response"]
    assert r["modalities"] == ["text"] and r["max_response_output_tokens"] == 16
    assert r["output_audio_format"] == "pcm16" and r["voice"] == "coral" and "audio" not in r
    assert r["input"][0]["content"] == [{"type": "text", "text": "Yes."}]


@pytest.mark.parametrize(
    ("event", "param"),
    [
        ({"type": "session.update", "event_id": "evt_8", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}},
         "session.audio.input.format"),
        ({"type": "session.update", "event_id": "evt_8", "session": {"type": "realtime", "audio": {"output": {"format": {"type": "audio/opus"}}}}},
         "session.audio.output.format"),
        ({"type": "response.create", "event_id": "evt_8", "response": {"audio": {"output": {"format": "pcm"}}}}, "response.audio.output.format"),
        ({"type": "session.update", "event_id": "evt_8", "session": None}, "session"),
    ],
)
def test_client_to_beta_rejects_what_beta_cannot_express(event: Json, param: str) -> None:
    with pytest.raises(ClientEventError) as info:
        client_to_beta(event)
    assert info.value.param == param and info.value.event_id == "evt_8"


def test_client_to_beta_returns_the_same_object_when_nothing_changes() -> None:
    for event in GA_CLIENT_CORPUS[3:7] + GA_CLIENT_CORPUS[8:14] + GA_CLIENT_CORPUS[15:]:
        assert client_to_beta(event) is event, event["type"]


# =========================================================================== server_to_ga


def test_server_to_ga_stream_validates_against_the_ga_sdk() -> None:
    state = BetaUpstreamState()
    for event in BETA_SERVER_STREAM:
        for out in server_to_ga(event, state):
            validate(GA_SERVER, out, GA_FROM_BETA_EXTRAS)
    assert state.open_items == set() and state.function_names == {}  # nothing left behind


def test_server_to_ga_item_lifecycle_with_state() -> None:
    state = BetaUpstreamState()
    out = [o for e in BETA_SERVER_STREAM for o in server_to_ga(e, state)]
    lifecycle = [(o["type"], o["item"]["id"]) for o in out if o["type"].startswith("conversation.item.")]
    user, assistant, call = USER_AUDIO_ITEM["id"], BETA_ASSISTANT_DONE["id"], FUNCTION_CALL_ITEM["id"]
    assert lifecycle == [
        ("conversation.item.added", user),
        ("conversation.item.done", user),
        ("conversation.item.added", assistant),
        ("conversation.item.done", assistant),
        ("conversation.item.added", call),
        ("conversation.item.done", call),
    ]
    # the done follows the output_item.done and carries the finished item, in GA content types
    types = [o["type"] for o in out]
    i = types.index("response.output_item.done")
    assert types[i + 1] == "conversation.item.done"
    assert out[i + 1]["item"]["content"] == [{"type": "output_audio", "transcript": "It is sunny in Paris."}]
    event_ids = [o["event_id"] for o in out]
    assert len(event_ids) == len(set(event_ids))
    args_done = next(o for o in out if o["type"] == "response.function_call_arguments.done")
    assert args_done["name"] == "get_weather"


def test_server_to_ga_without_state_omits_what_it_cannot_know() -> None:
    out = [o for e in BETA_SERVER_STREAM for o in server_to_ga(e)]
    lifecycle = [(o["type"], o["item"]["id"]) for o in out if o["type"].startswith("conversation.item.")]
    assert lifecycle == [
        ("conversation.item.added", USER_AUDIO_ITEM["id"]),
        ("conversation.item.done", USER_AUDIO_ITEM["id"]),
        ("conversation.item.added", BETA_ASSISTANT_DONE["id"]),
        ("conversation.item.added", FUNCTION_CALL_ITEM["id"]),
    ]
    args_done = next(o for o in out if o["type"] == "response.function_call_arguments.done")
    assert "name" not in args_done


@pytest.mark.parametrize(("status", "with_done"), [("completed", True), ("incomplete", True), ("in_progress", False), (None, False)])
def test_server_to_ga_item_created_is_done_at_once_only_when_final(status: str | None, with_done: bool) -> None:
    item = {**USER_AUDIO_ITEM, "status": status}
    event = {"type": "conversation.item.created", "event_id": "event_X", "previous_item_id": "item_p", "item": item}
    out = server_to_ga(event)
    assert out[0] == {**event, "type": "conversation.item.added"}
    if with_done:
        assert out[1] == {"type": "conversation.item.done", "event_id": "event_X_done", "previous_item_id": "item_p", "item": item}
    assert len(out) == (2 if with_done else 1)


def test_server_to_ga_state_is_released_when_the_response_ends() -> None:
    """A cancelled response may never send output_item.done; response.done clears its items."""
    state = BetaUpstreamState()
    server_to_ga(BETA_SERVER_STREAM[17], state)  # conversation.item.created, function call in progress
    assert state.open_items and state.function_names
    server_to_ga({"type": "response.done", "event_id": "e", "response": {"id": RESP, "status": "cancelled", "output": [BETA_CALL_PENDING]}}, state)
    assert state.open_items == set() and state.function_names == {}


def test_server_to_ga_sessions() -> None:
    (created,) = server_to_ga(BETA_SERVER_STREAM[0])
    s = created["session"]
    assert s["type"] == "realtime" and s["output_modalities"] == ["audio"] and s["temperature"] == 0.8
    assert s["audio"]["output"] == {"voice": "alloy", "format": {"type": "audio/pcm", "rate": 24000}, "speed": 1.0}
    assert s["audio"]["input"]["transcription"] is None and s["max_output_tokens"] == "inf"
    (updated,) = server_to_ga(BETA_SERVER_STREAM[1])
    assert updated["type"] == "session.updated"
    assert updated["session"]["type"] == "transcription" and "client_secret" not in updated["session"]
    assert updated["session"]["audio"]["input"]["format"] == {"type": "audio/pcma"}
    (created_t,) = server_to_ga({"type": "transcription_session.created", "event_id": "e", "session": {"input_audio_format": "pcm16"}})
    assert created_t == {"type": "session.created", "event_id": "e", "session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}}


def test_server_to_ga_response_object() -> None:
    (done,) = server_to_ga(BETA_SERVER_STREAM[21])
    r = done["response"]
    assert r["output_modalities"] == ["audio"] and r["audio"] == {"output": {"voice": "alloy", "format": {"type": "audio/pcm", "rate": 24000}}}
    assert r["output"][0]["content"] == [{"type": "output_audio", "transcript": "It is sunny in Paris."}]
    assert r["usage"] == BETA_SERVER_STREAM[21]["response"]["usage"]


@pytest.mark.parametrize("beta_type", sorted(GA_RENAMES))
def test_server_to_ga_renames_deltas(beta_type: str) -> None:
    event = {"type": beta_type, "event_id": "e", **BETA_DELTA_IDS, "delta": "x"}
    assert server_to_ga(event) == [{**event, "type": GA_RENAMES[beta_type]}]


@pytest.mark.parametrize(
    "event",
    [BETA_SERVER_STREAM[2], BETA_SERVER_STREAM[22], {"type": "conversation.item.deleted", "event_id": "e", "item_id": "i"},
     {"type": "brand.new", "event_id": "e"}, {"type": 3}],
    ids=lambda e: str(e.get("type")),
)
def test_server_to_ga_returns_the_same_object_when_nothing_changes(event: Json) -> None:
    (out,) = server_to_ga(event)
    assert out is event


@pytest.mark.parametrize("event", GA_SERVER_CORPUS, ids=_ids(GA_SERVER_CORPUS))
def test_ga_server_events_round_trip_through_beta(event: Json) -> None:
    """GA → beta → GA gives the event back, except where beta is poorer on purpose."""
    beta = server_to_beta(event)
    assert beta is not None
    back = server_to_ga(beta)
    validate(GA_SERVER, back[0], GA_FROM_BETA_EXTRAS)
    expected = copy.deepcopy(event)
    if event["type"] == "conversation.item.created":
        expected["type"] = "conversation.item.added"  # beta only knows 'created'; GA announces with 'added'
    if event["type"] in ("response.created", "response.done") and event["response"].get("usage"):
        details = expected["response"]["usage"]["input_token_details"]
        details.pop("image_tokens", None)
        details.pop("cached_tokens_details", None)
    assert back[0] == expected
    expect_done = event["type"] in ("conversation.item.added", "conversation.item.created") and event["item"]["status"] != "in_progress"
    assert len(back) == (2 if expect_done else 1)


# =========================================================================== purity


ALL_INPUTS = GA_SERVER_CORPUS + GA_ONLY_CORPUS + BETA_CLIENT_CORPUS + LOSSY_BETA_CLIENT + GA_CLIENT_CORPUS + BETA_SERVER_STREAM


@pytest.mark.parametrize("convert", [client_to_ga, client_to_beta, server_to_beta, server_to_ga], ids=lambda f: f.__name__)
def test_no_function_mutates_its_input(convert: Any) -> None:
    for event in ALL_INPUTS:
        before = copy.deepcopy(event)
        try:
            convert(event)
        except ClientEventError:
            pass
        assert event == before, f"{convert.__name__} mutated {event['type']}"


def test_changed_containers_are_new_and_unchanged_ones_shared() -> None:
    """The documented copy contract: shallow copies of what changes, sharing of the rest."""
    event = BETA_SESSION_UPDATE
    ga = client_to_ga(event)
    assert ga is not event and ga["session"] is not event["session"]
    assert ga["session"]["audio"]["input"]["turn_detection"] is not event["session"]["turn_detection"]  # rebuilt
    assert ga["session"]["tools"] is event["session"]["tools"]  # unchanged: shared, not copied
    item_event = BETA_CLIENT_CORPUS[10]
    converted = client_to_ga(item_event)
    assert converted["item"] is not item_event["item"]
    assert converted["item"]["content"] is not item_event["item"]["content"]
    assert converted["item"]["content"][0] is not item_event["item"]["content"][0]


# =========================================================================== formats and session helpers


@pytest.mark.parametrize(
    ("beta", "ga"),
    [("pcm16", {"type": "audio/pcm", "rate": 24000}), ("g711_ulaw", {"type": "audio/pcmu"}), ("g711_alaw", {"type": "audio/pcma"})],
)
def test_formats_both_ways(beta: str, ga: Json) -> None:
    assert format_to_ga(beta) == ga
    assert format_to_beta(ga) == beta
    assert format_to_beta(beta) == beta  # already beta
    assert format_to_ga(ga) == ga  # already GA


def test_format_pcm_without_rate_is_24k() -> None:
    assert format_to_beta({"type": "audio/pcm"}) == "pcm16"


@pytest.mark.parametrize("bad", [{"type": "audio/pcm", "rate": 16000}, {"type": "audio/opus"}, {"type": ["audio/pcm"]}, {}, "pcm", None, 24000])
def test_format_to_beta_rejects(bad: Any) -> None:
    with pytest.raises(ValueError):
        format_to_beta(bad)


@pytest.mark.parametrize("bad", ["pcm24", "PCM16", "", None, 1, {"type": "audio/wav"}])
def test_format_to_ga_rejects(bad: Any) -> None:
    with pytest.raises(ValueError):
        format_to_ga(bad)


def test_session_helpers() -> None:
    beta = BETA_SESSION_UPDATE["session"]
    ga = session_to_ga(beta)
    assert ga["type"] == "realtime" and ga["audio"]["output"]["voice"] == "verse"
    assert session_to_beta(ga) == beta
    assert session_to_ga({"input_audio_format": "g711_ulaw", "voice": "ash", "modalities": ["text"]}, "transcription") == {
        "type": "transcription",
        "audio": {"input": {"format": {"type": "audio/pcmu"}}},
    }
    with pytest.raises(ClientEventError) as info:
        session_to_ga({"output_audio_format": "aac"})
    assert info.value.param == "session.output_audio_format"
    with pytest.raises(ClientEventError) as info:
        session_to_beta({"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm", "rate": 48000}}}})
    assert info.value.param == "session.audio.output.format"


def test_server_direction_keeps_formats_it_cannot_convert() -> None:
    """A server event is never refused: an odd format is passed on as it came."""
    odd = {"type": "audio/pcm", "rate": 16000}
    beta = server_to_beta({"type": "session.updated", "event_id": "e", "session": {"type": "realtime", "audio": {"input": {"format": odd}}}})
    assert beta is not None and beta["session"]["input_audio_format"] == odd
    (ga,) = server_to_ga({"type": "session.updated", "event_id": "e", "session": {"input_audio_format": "opus"}})
    assert ga["session"]["audio"]["input"]["format"] == "opus"


# =========================================================================== fast path


def test_beta_and_ga_renames_are_inverse_and_known_to_the_sdks() -> None:
    assert {v: k for k, v in GA_RENAMES.items()} == BETA_RENAMES
    assert set(BETA_RENAMES) <= set(GA_SERVER) and set(GA_RENAMES) <= set(BETA_SERVER)
    assert not set(BETA_RENAMES) & set(BETA_SERVER)


@pytest.mark.parametrize("sep", ["", " "])
def test_rename_type_in_text(sep: str) -> None:
    text = '{"type":' + sep + '"response.output_audio.delta","event_id":"e","delta":"AAAA"}'
    out = rename_type_in_text(text, "response.output_audio.delta", "response.audio.delta")
    assert out == '{"type":' + sep + '"response.audio.delta","event_id":"e","delta":"AAAA"}'


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"response.output_audio.delta_v2","delta":"x"}',  # a longer type with the same start
        '{"type":"response.output_audio.done","delta":"x"}',
        '{"event_id":"e","type":"response.output_audio.delta"}',  # type not first
        '{ "type":"response.output_audio.delta"}',
        '{"type":  "response.output_audio.delta"}',
        '{"type":"response.output_audio.delta',  # truncated
        "",
        "not json",
    ],
)
def test_rename_type_in_text_refuses_other_shapes(text: str) -> None:
    assert rename_type_in_text(text, "response.output_audio.delta", "response.audio.delta") is None


@pytest.mark.parametrize("event", [e for e in GA_SERVER_CORPUS if e["type"] in BETA_RENAMES], ids=lambda e: e["type"])
def test_fast_path_agrees_with_server_to_beta(event: Json) -> None:
    text = json.dumps(event, separators=(",", ":"))
    fast = rename_type_in_text(text, event["type"], BETA_RENAMES[event["type"]])
    assert fast is not None
    assert json.loads(fast) == server_to_beta(event)
