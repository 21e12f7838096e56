"""The GA session object: defaults, ``session.update`` validation and merging,
and ``response.create`` parameters.

Validation follows the OpenAI service's habits so a client's mistake gets the
same kind of ``error`` it would get in production: ``param`` names the exact
field (``session.audio.input.format.rate``) and ``code`` is one of
``invalid_type``, ``invalid_value``, ``missing_required_parameter``,
``unknown_parameter``, ``integer_below_min_value`` and friends.  An update
with any bad field is rejected as a whole; nothing is half-applied.

Merging follows the documented rule "only the fields that are present in the
``session.update`` are updated": ``audio``, ``audio.input`` and
``audio.output`` merge key by key; every other value (a format, a
``turn_detection``, ``tools``...) is replaced whole, and missing
``turn_detection`` fields take their defaults.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from rt_core import ClientEventError

from .audio import FORMATS, PCM

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "default_session",
    "apply_session_update",
    "ResponseParams",
    "response_params",
    "audio_format_type",
    "turn_detection",
]

DEFAULT_INSTRUCTIONS = (
    "You are the rt mock realtime model. You answer deterministically: you repeat what you heard, "
    "call a tool when asked to by name, and say exactly the text of a line starting with 'Say:' "
    "in your instructions."
)

_SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
_SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}

#: Top-level session keys the GA service accepts.
_SESSION_KEYS = frozenset(
    {"type", "model", "instructions", "output_modalities", "audio", "tools", "tool_choice",
     "max_output_tokens", "include", "prompt", "reasoning", "tracing", "truncation", "parallel_tool_calls"}
)
#: Keys accepted and ignored: read-only echoes of a session object a client
#: may send back, and ``temperature``, which rt's client edge keeps for beta
#: clients and translated providers.
_IGNORED_SESSION_KEYS = frozenset({"object", "id", "expires_at", "client_secret", "temperature"})
_RESPONSE_KEYS = frozenset(
    {"output_modalities", "instructions", "audio", "tools", "tool_choice", "max_output_tokens", "conversation",
     "input", "metadata", "prompt", "reasoning", "parallel_tool_calls"}
)
_IGNORED_RESPONSE_KEYS = frozenset({"temperature"})
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


# --------------------------------------------------------------------------- helpers


def _fail(message: str, param: str, code: str = "invalid_value") -> NoReturn:
    raise ClientEventError(message, code=code, param=param)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bad_type(value: Any, param: str, expected: str) -> NoReturn:
    _fail(f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.", param,
          "invalid_type")


def _str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        _bad_type(value, param, "a string")
    return value


def _bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        _bad_type(value, param, "a boolean")
    return value


def _int(value: Any, param: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        _bad_type(value, param, "an integer")
    if lo is not None and value < lo:
        _fail(f"Invalid '{param}': integer below minimum value. Expected a value >= {lo}, but got {value} instead.",
              param, "integer_below_min_value")
    if hi is not None and value > hi:
        _fail(f"Invalid '{param}': integer above maximum value. Expected a value <= {hi}, but got {value} instead.",
              param, "integer_above_max_value")
    return value


def _number(value: Any, param: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _bad_type(value, param, "a number")
    if value < lo:
        _fail(f"Invalid '{param}': decimal below minimum value. Expected a value >= {lo}, but got {value} instead.",
              param, "decimal_below_min_value")
    if value > hi:
        _fail(f"Invalid '{param}': decimal above maximum value. Expected a value <= {hi}, but got {value} instead.",
              param, "decimal_above_max_value")
    return value


def _dict(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _bad_type(value, param, "an object")
    return value


def _list(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        _bad_type(value, param, "an array")
    return value


def _enum(value: Any, allowed: tuple[str, ...], param: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        quoted = [f"'{a}'" for a in allowed]
        supported = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        _fail(f"Invalid value: '{value}'. Supported values are: {supported}.", param)
    return value


def _only(obj: dict[str, Any], allowed: frozenset[str] | set[str], param: str,
          ignored: frozenset[str] = frozenset()) -> None:
    for key in obj:
        if key not in allowed and key not in ignored:
            _fail(f"Unknown parameter: '{param}.{key}'.", f"{param}.{key}", "unknown_parameter")


# --------------------------------------------------------------------------- pieces


def audio_format(value: Any, param: str) -> dict[str, Any]:
    """Validate an audio format object and return its canonical form."""
    fmt = _dict(value, param)
    if "type" not in fmt:
        _fail(f"Missing required parameter: '{param}.type'.", f"{param}.type", "missing_required_parameter")
    kind = _enum(fmt["type"], FORMATS, f"{param}.type")
    if kind == PCM:
        _only(fmt, {"type", "rate"}, param)
        if "rate" in fmt and fmt["rate"] != 24000:
            _fail(f"Invalid value: '{fmt['rate']}'. Supported values are: '24000'.", f"{param}.rate")
        return {"type": PCM, "rate": 24000}
    _only(fmt, {"type"}, param)
    return {"type": kind}


def audio_format_type(fmt: dict[str, Any] | None) -> str:
    return fmt["type"] if fmt else PCM


def output_modalities(value: Any, param: str) -> list[str]:
    """``["text"]`` or ``["audio"]``.

    ``["text", "audio"]`` (the beta dialect's default, which many clients
    still send) is accepted and means ``["audio"]``: audio always comes with
    its transcript.
    """
    mods = _list(value, param)
    for i, m in enumerate(mods):
        _enum(m, ("text", "audio"), f"{param}[{i}]")
    if not mods:
        _fail(f"Invalid value for '{param}': expected ['text'] or ['audio'], but got an empty array.", param)
    return ["audio"] if "audio" in mods else ["text"]


def voice(value: Any, param: str) -> str | dict[str, Any]:
    if isinstance(value, dict):
        _only(value, {"id"}, param)
        if not isinstance(value.get("id"), str) or not value["id"]:
            _fail(f"Missing required parameter: '{param}.id'.", f"{param}.id", "missing_required_parameter")
        return dict(value)
    if not isinstance(value, str) or not value:
        _bad_type(value, param, "a string")
    return value


def tools(value: Any, param: str) -> list[dict[str, Any]]:
    out = []
    names: set[str] = set()
    for i, tool in enumerate(_list(value, param)):
        p = f"{param}[{i}]"
        tool = _dict(tool, p)
        kind = tool.get("type", "function")
        if kind == "mcp":
            _fail("The rt mock model does not support MCP tools; declare function tools instead.", f"{p}.type")
        _enum(kind, ("function", "mcp"), f"{p}.type")
        _only(tool, {"type", "name", "description", "parameters"}, p)
        if "name" not in tool:
            _fail(f"Missing required parameter: '{p}.name'.", f"{p}.name", "missing_required_parameter")
        name = _str(tool["name"], f"{p}.name")
        if not _TOOL_NAME.match(name):
            _fail(f"Invalid '{p}.name': string does not match pattern. Expected a string that matches the "
                  "pattern '^[a-zA-Z0-9_-]{1,64}$'.", f"{p}.name")
        if name in names:
            _fail(f"Duplicate tool name: '{name}'.", f"{p}.name")
        names.add(name)
        if "description" in tool:
            _str(tool["description"], f"{p}.description")
        if "parameters" in tool and tool["parameters"] is not None:
            _dict(tool["parameters"], f"{p}.parameters")
        out.append({"type": "function", **{k: v for k, v in tool.items() if k != "type"}})
    return out


def tool_choice(value: Any, param: str) -> str | dict[str, Any]:
    if isinstance(value, str):
        return _enum(value, ("none", "auto", "required"), param)
    choice = _dict(value, param)
    kind = choice.get("type")
    if kind == "mcp":
        _fail("The rt mock model does not support MCP tools.", f"{param}.type")
    _enum(kind, ("function", "mcp"), f"{param}.type")
    _only(choice, {"type", "name"}, param)
    if "name" not in choice:
        _fail(f"Missing required parameter: '{param}.name'.", f"{param}.name", "missing_required_parameter")
    return {"type": "function", "name": _str(choice["name"], f"{param}.name")}


def max_output_tokens(value: Any, param: str) -> int | str:
    if value == "inf":
        return "inf"
    if isinstance(value, str):
        _fail(f"Invalid value: '{value}'. Supported values are: an integer between 1 and 4096, or 'inf'.", param)
    return _int(value, param, 1, 4096)


def turn_detection(value: Any, param: str) -> dict[str, Any] | None:
    """Validate ``turn_detection`` and fill in the defaults of its type."""
    if value is None:
        return None
    td = _dict(value, param)
    if "type" not in td:
        _fail(f"Missing required parameter: '{param}.type'.", f"{param}.type", "missing_required_parameter")
    kind = _enum(td["type"], ("server_vad", "semantic_vad"), f"{param}.type")
    defaults = _SERVER_VAD_DEFAULTS if kind == "server_vad" else _SEMANTIC_VAD_DEFAULTS
    _only(td, set(defaults), param)
    out = dict(defaults)
    for key, v in td.items():
        p = f"{param}.{key}"
        if key == "threshold":
            v = _number(v, p, 0.0, 1.0)
        elif key in ("prefix_padding_ms", "silence_duration_ms"):
            v = _int(v, p, 0, 10_000)
        elif key == "idle_timeout_ms":
            v = None if v is None else _int(v, p, 5_000, 30_000)
        elif key in ("create_response", "interrupt_response"):
            v = _bool(v, p)
        elif key == "eagerness":
            v = _enum(v, ("low", "medium", "high", "auto"), p)
        out[key] = v
    return out


def _transcription(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    tr = _dict(value, param)
    _only(tr, {"model", "language", "languages", "prompt", "keywords", "delay"}, param)
    for key in ("model", "language", "prompt"):
        if key in tr and tr[key] is not None:
            _str(tr[key], f"{param}.{key}")
    for key in ("languages", "keywords"):
        if key in tr and tr[key] is not None:
            for i, v in enumerate(_list(tr[key], f"{param}.{key}")):
                _str(v, f"{param}.{key}[{i}]")
    if "delay" in tr and tr["delay"] is not None:
        _enum(tr["delay"], ("minimal", "low", "medium", "high", "xhigh"), f"{param}.delay")
    return dict(tr)


def _noise_reduction(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    nr = _dict(value, param)
    _only(nr, {"type", "strength"}, param)
    if "type" in nr:
        _enum(nr["type"], ("near_field", "far_field"), f"{param}.type")
    if "strength" in nr and nr["strength"] is not None:
        _number(nr["strength"], f"{param}.strength", 0.0, 1.0)
    return dict(nr)


# --------------------------------------------------------------------------- session


def default_session(session_id: str, model: str, instructions: str = DEFAULT_INSTRUCTIONS) -> dict[str, Any]:
    """The session a new connection starts with (sent in ``session.created``)."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": instructions,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": PCM, "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(_SERVER_VAD_DEFAULTS),
            },
            "output": {"format": {"type": PCM, "rate": 24000}, "voice": "marin", "speed": 1.0},
        },
    }


def apply_session_update(current: dict[str, Any], update: Any, *, voice_locked: bool) -> dict[str, Any]:
    """Validate the ``session`` of a ``session.update`` and return the new session.

    :param voice_locked: the model has already spoken; the voice is fixed.
    :raises ClientEventError: the update is invalid; ``current`` is unchanged.
    """
    upd = _dict(update, "session")
    _only(upd, _SESSION_KEYS, "session", _IGNORED_SESSION_KEYS)
    if "type" not in upd:
        _fail("Missing required parameter: 'session.type'.", "session.type", "missing_required_parameter")
    if upd["type"] == "transcription":
        _fail("The rt mock model serves realtime sessions only; a transcription session cannot be created here.",
              "session.type")
    _enum(upd["type"], ("realtime", "transcription"), "session.type")

    new = copy.deepcopy(current)
    for key, value in upd.items():
        p = f"session.{key}"
        if key in ("type", *_IGNORED_SESSION_KEYS):
            continue
        if key == "model":
            _str(value, p)  # the model of a session cannot change: accepted, kept as it was
        elif key == "instructions":
            new[key] = _str(value, p)
        elif key == "output_modalities":
            new[key] = output_modalities(value, p)
        elif key == "tools":
            new[key] = tools(value, p)
        elif key == "tool_choice":
            new[key] = tool_choice(value, p)
        elif key == "max_output_tokens":
            new[key] = max_output_tokens(value, p)
        elif key == "parallel_tool_calls":
            new[key] = _bool(value, p)
        elif key == "include":
            if value is not None:
                for i, v in enumerate(_list(value, p)):
                    _enum(v, ("item.input_audio_transcription.logprobs",), f"{p}[{i}]")
            new[key] = value
        elif key == "tracing":
            if value is not None and value != "auto":
                _dict(value, p)
            new[key] = value
        elif key == "truncation":
            if isinstance(value, str):
                _enum(value, ("auto", "disabled"), p)
            else:
                _dict(value, p)
            new[key] = value
        elif key in ("prompt", "reasoning"):
            if value is not None:
                _dict(value, p)
            new[key] = value
        elif key == "audio":
            _merge_audio(new, value, voice_locked)
    return new


def _merge_audio(session: dict[str, Any], value: Any, voice_locked: bool) -> None:
    audio = _dict(value, "session.audio")
    _only(audio, {"input", "output"}, "session.audio")
    if "input" in audio:
        inp = _dict(audio["input"], "session.audio.input")
        _only(inp, {"format", "noise_reduction", "transcription", "turn_detection"}, "session.audio.input")
        target = session["audio"]["input"]
        p = "session.audio.input"
        if "format" in inp:
            target["format"] = audio_format(inp["format"], f"{p}.format")
        if "noise_reduction" in inp:
            target["noise_reduction"] = _noise_reduction(inp["noise_reduction"], f"{p}.noise_reduction")
        if "transcription" in inp:
            target["transcription"] = _transcription(inp["transcription"], f"{p}.transcription")
        if "turn_detection" in inp:
            target["turn_detection"] = turn_detection(inp["turn_detection"], f"{p}.turn_detection")
    if "output" in audio:
        out = _dict(audio["output"], "session.audio.output")
        _only(out, {"format", "voice", "speed"}, "session.audio.output")
        target = session["audio"]["output"]
        p = "session.audio.output"
        if "format" in out:
            target["format"] = audio_format(out["format"], f"{p}.format")
        if "voice" in out:
            v = voice(out["voice"], f"{p}.voice")
            if voice_locked and v != target["voice"]:
                _fail("Cannot update a conversation's voice if assistant audio is present.", f"{p}.voice",
                      "cannot_update_voice")
            target["voice"] = v
        if "speed" in out:
            target["speed"] = _number(out["speed"], f"{p}.speed", 0.25, 1.5)


# --------------------------------------------------------------------------- response.create


@dataclass
class ResponseParams:
    """Effective settings of one response: the request's, else the session's."""

    output_modalities: list[str]
    instructions: str
    output_format: dict[str, Any]
    voice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    max_output_tokens: int | str
    conversation: str  # "auto" or "none"
    input: list[Any] | None
    metadata: dict[str, str] | None
    parallel_tool_calls: bool


def response_params(session: dict[str, Any], raw: Any) -> ResponseParams:
    """Validate ``response.create``'s ``response`` (may be absent) against ``session``."""
    req = {} if raw is None else _dict(raw, "response")
    _only(req, _RESPONSE_KEYS, "response", _IGNORED_RESPONSE_KEYS)
    out_audio = session["audio"]["output"]
    params = ResponseParams(
        output_modalities=list(session["output_modalities"]),
        instructions=session["instructions"],
        output_format=out_audio["format"],
        voice=out_audio["voice"],
        tools=session["tools"],
        tool_choice=session["tool_choice"],
        max_output_tokens=session["max_output_tokens"],
        conversation="auto",
        input=None,
        metadata=None,
        parallel_tool_calls=session.get("parallel_tool_calls", True),
    )
    for key, value in req.items():
        p = f"response.{key}"
        if key == "output_modalities":
            params.output_modalities = output_modalities(value, p)
        elif key == "instructions":
            params.instructions = _str(value, p)
        elif key == "audio":
            audio = _dict(value, p)
            _only(audio, {"output"}, p)
            if "output" in audio:
                o = _dict(audio["output"], f"{p}.output")
                _only(o, {"format", "voice"}, f"{p}.output")
                if "format" in o:
                    params.output_format = audio_format(o["format"], f"{p}.output.format")
                if "voice" in o:
                    params.voice = voice(o["voice"], f"{p}.output.voice")
        elif key == "tools":
            params.tools = tools(value, p)
        elif key == "tool_choice":
            params.tool_choice = tool_choice(value, p)
        elif key == "max_output_tokens":
            params.max_output_tokens = max_output_tokens(value, p)
        elif key == "conversation":
            if value is not None:
                params.conversation = _enum(value, ("auto", "none"), p)
        elif key == "input":
            params.input = None if value is None else _list(value, p)
        elif key == "metadata":
            if value is not None:
                md = _dict(value, p)
                if len(md) > 16:
                    _fail("Invalid 'response.metadata': at most 16 key-value pairs are allowed.", p)
                for k, v in md.items():
                    if len(k) > 64:
                        _fail("Invalid 'response.metadata': keys are at most 64 characters.", f"{p}.{k}")
                    if len(_str(v, f"{p}.{k}")) > 512:
                        _fail("Invalid 'response.metadata': values are at most 512 characters.", f"{p}.{k}")
                params.metadata = dict(md)
        elif key == "parallel_tool_calls":
            params.parallel_tool_calls = _bool(value, p)
        elif key in ("prompt", "reasoning"):
            if value is not None:
                _dict(value, p)
    if isinstance(params.tool_choice, dict):
        name = params.tool_choice["name"]
        if name not in {t["name"] for t in params.tools}:
            _fail(f"Tool choice '{name}' not found in 'tools' parameter.", "tool_choice")
    return params
