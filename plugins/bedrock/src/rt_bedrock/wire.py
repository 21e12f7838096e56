"""Nova Sonic's event grammar: builders for input events, readers for output.

Every Nova event is ``{"event": {"<name>": {...}}}`` carried as the bytes of one
event-stream ``chunk`` (the SDK does the framing and signing).  Input order
(AWS "Input events" docs and aws-samples/amazon-nova-samples):
``sessionStart`` → ``promptStart`` → SYSTEM text block → history text blocks
(``interactive: false``) → one long USER AUDIO block (``interactive: true``)
with TOOL result blocks and (Nova 2) interactive USER text blocks between
audio chunks → ``contentEnd`` of the audio block → ``promptEnd`` →
``sessionEnd``.  Every block is ``contentStart``/…/``contentEnd`` with a
``contentName`` unique within the stream.

Output (AWS "Output events" docs; livekit/agents and strands-agents as
cross-checks): ``completionStart``; per turn a USER TEXT block (the ASR of
what the user said), optional TOOL blocks (``toolUse``), then rounds of
ASSISTANT TEXT *SPECULATIVE* (what Nova plans to say), ASSISTANT AUDIO (24 kHz
LPCM) and ASSISTANT TEXT *FINAL* (what was actually spoken);
``contentEnd.stopReason`` is ``PARTIAL_TURN``, ``END_TURN``, ``INTERRUPTED``
or ``TOOL_USE``; barge-in also shows as the text ``{ "interrupted" : true }``;
``usageEvent`` carries cumulative token counts.  ``generationStage`` sits in
``additionalModelFields``, itself a JSON *string*.
"""

from __future__ import annotations

import json
from typing import Any

from rt_core import dumps
from rt_core.events import loads_relayable

__all__ = [
    "DEFAULT_INFERENCE",
    "session_start",
    "prompt_start",
    "text_block",
    "audio_start",
    "audio_input",
    "tool_result_block",
    "content_end",
    "prompt_end",
    "session_end",
    "tool_spec",
    "tool_choice",
    "parse_output",
    "generation_stage",
    "is_interruption",
    "INPUT_AUDIO_RATE",
    "OUTPUT_AUDIO_RATE",
]

INPUT_AUDIO_RATE = 16000
OUTPUT_AUDIO_RATE = 24000

#: Nova's defaults in AWS's samples.
DEFAULT_INFERENCE = {"maxTokens": 1024, "topP": 0.9, "temperature": 0.7}

_TEXT_CONFIG = {"mediaType": "text/plain"}
_AUDIO_IN_CONFIG = {
    "mediaType": "audio/lpcm",
    "sampleRateHertz": INPUT_AUDIO_RATE,
    "sampleSizeBits": 16,
    "channelCount": 1,
    "audioType": "SPEECH",
    "encoding": "base64",
}


def _ev(name: str, body: dict[str, Any]) -> str:
    return dumps({"event": {name: body}})


def session_start(inference: dict[str, Any], endpointing: str | None = None) -> str:
    body: dict[str, Any] = {"inferenceConfiguration": inference}
    if endpointing:
        body["turnDetectionConfiguration"] = {"endpointingSensitivity": endpointing}
    return _ev("sessionStart", body)


def prompt_start(
    prompt: str, voice: str, tools: list[dict[str, Any]], choice: dict[str, Any] | None
) -> str:
    body: dict[str, Any] = {
        "promptName": prompt,
        "textOutputConfiguration": _TEXT_CONFIG,
        "audioOutputConfiguration": {
            "mediaType": "audio/lpcm",
            "sampleRateHertz": OUTPUT_AUDIO_RATE,
            "sampleSizeBits": 16,
            "channelCount": 1,
            "voiceId": voice,
            "encoding": "base64",
            "audioType": "SPEECH",
        },
    }
    if tools:
        body["toolUseOutputConfiguration"] = {"mediaType": "application/json"}
        cfg: dict[str, Any] = {"tools": tools}
        if choice is not None:
            cfg["toolChoice"] = choice
        body["toolConfiguration"] = cfg
    return _ev("promptStart", body)


def text_block(prompt: str, name: str, role: str, text: str, *, interactive: bool) -> list[str]:
    """A whole TEXT content block (``SYSTEM``, ``USER`` or ``ASSISTANT``)."""
    return [
        _ev("contentStart", {
            "promptName": prompt, "contentName": name, "type": "TEXT", "interactive": interactive,
            "role": role, "textInputConfiguration": _TEXT_CONFIG,
        }),
        _ev("textInput", {"promptName": prompt, "contentName": name, "content": text}),
        content_end(prompt, name),
    ]


def audio_start(prompt: str, name: str) -> str:
    return _ev("contentStart", {
        "promptName": prompt, "contentName": name, "type": "AUDIO", "interactive": True,
        "role": "USER", "audioInputConfiguration": _AUDIO_IN_CONFIG,
    })


def audio_input(prompt: str, name: str, b64: str) -> str:
    """The hot path: no JSON encoder.  Ids are rt-made (``[A-Za-z0-9_]``) and
    base64 needs no escaping, so the template is exact."""
    return (
        '{"event":{"audioInput":{"promptName":"' + prompt + '","contentName":"' + name
        + '","content":"' + b64 + '"}}}'
    )


def tool_result_block(prompt: str, name: str, tool_use_id: str, content: str) -> list[str]:
    return [
        _ev("contentStart", {
            "promptName": prompt, "contentName": name, "type": "TOOL", "interactive": False, "role": "TOOL",
            "toolResultInputConfiguration": {
                "toolUseId": tool_use_id, "type": "TEXT", "textInputConfiguration": _TEXT_CONFIG,
            },
        }),
        _ev("toolResult", {"promptName": prompt, "contentName": name, "content": content}),
        content_end(prompt, name),
    ]


def content_end(prompt: str, name: str) -> str:
    return _ev("contentEnd", {"promptName": prompt, "contentName": name})


def prompt_end(prompt: str) -> str:
    return _ev("promptEnd", {"promptName": prompt})


def session_end() -> str:
    return _ev("sessionEnd", {})


# --------------------------------------------------------------------------- tools


def tool_spec(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI realtime function tool → a Nova ``toolSpec``.

    Nova wants the JSON schema as a *string* (``inputSchema.json``); a tool
    without parameters gets an empty object schema, which Nova requires.
    """
    params = tool.get("parameters")
    if not isinstance(params, dict) or not params:
        params = {"type": "object", "properties": {}}
    return {
        "toolSpec": {
            "name": tool["name"],
            "description": tool.get("description") or tool["name"],
            "inputSchema": {"json": json.dumps(params, ensure_ascii=False, separators=(",", ":"))},
        }
    }


def tool_choice(choice: Any) -> dict[str, Any] | None:
    """OpenAI ``tool_choice`` → Nova ``toolChoice`` (``none`` is handled by
    sending no tools at all)."""
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"tool": {"name": choice["name"]}}
    if choice == "auto":
        return {"auto": {}}
    return None


# --------------------------------------------------------------------------- output


def parse_output(payload: bytes | str) -> tuple[str, dict[str, Any]]:
    """``(event name, body)`` of one Nova output event.

    :raises ValueError: not a Nova event (or JSON rt could not relay:
        :func:`rt_core.events.loads_relayable`).
    """
    data = loads_relayable(payload)
    ev = data.get("event") if isinstance(data, dict) else None
    if not isinstance(ev, dict) or len(ev) != 1:
        raise ValueError("not a Nova Sonic event")
    ((name, body),) = ev.items()
    if not isinstance(body, dict):
        raise ValueError(f"Nova Sonic event {name!r} has no object body")
    return name, body


def generation_stage(content_start: dict[str, Any]) -> str | None:
    """``SPECULATIVE``/``FINAL`` from ``additionalModelFields`` (a JSON string)."""
    extra = content_start.get("additionalModelFields")
    if isinstance(extra, str) and extra:
        try:
            parsed = json.loads(extra)
        except ValueError:
            return "SPECULATIVE" if "SPECULATIVE" in extra else ("FINAL" if "FINAL" in extra else None)
        stage = parsed.get("generationStage") if isinstance(parsed, dict) else None
        return stage if isinstance(stage, str) else None
    if isinstance(extra, dict):
        stage = extra.get("generationStage")
        return stage if isinstance(stage, str) else None
    return None


def is_interruption(text: str) -> bool:
    """Nova's barge-in marker, ``{ "interrupted" : true }`` (spacing varies)."""
    t = text.strip()
    if not (t.startswith("{") and "interrupted" in t):
        return False
    try:
        return bool(json.loads(t) == {"interrupted": True})
    except ValueError:
        return False
