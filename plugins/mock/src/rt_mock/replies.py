"""What the mock model says, and what it costs: the deterministic "model".

:func:`decide` applies these rules; the first that applies wins:

1. **Tool calls.**  Tools are available and ``tool_choice`` allows them: a
   named ``tool_choice`` or ``"required"`` always calls a tool; ``"auto"``
   calls every tool whose name the last user message mentions
   (``get_weather``, ``get-weather`` or ``get weather``), or the first tool
   when the message asks to "call/use a tool/function" -- but not again once
   tool results have arrived.  Arguments are placeholders satisfying the
   tool's JSON schema (see :func:`placeholder_arguments`).
2. **Say.**  The effective instructions (the response's, else the
   session's) contain a line ``Say: <text>``: the reply is ``<text>``.
3. **Tool results.**  ``function_call_output`` items arrived since the last
   user message: the reply reports them, ``get_weather returned: {...}``.
4. **Fixed reply.**  The deployment's ``reply_text``, if configured.
5. **Echo.**  ``You said: <the last user message>`` (audio is "heard" as its
   transcript, ``[audio 1.20s]`` unless one is known); a greeting when there
   is no user message; ``Are you still there?`` after an idle timeout.

Token counts are approximations chosen to be easy to predict: text is one
token per 4 characters (rounded up), input audio one token per 100 ms and
output audio one token per 50 ms, an image 85 tokens.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GREETING",
    "IDLE_PROMPT",
    "text_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "say_directive",
    "audio_transcript",
    "ToolCall",
    "choose_tool_calls",
    "placeholder_arguments",
    "Context",
    "decide",
]

GREETING = "Hello! I am the rt mock model."
IDLE_PROMPT = "Are you still there?"
IMAGE_TOKENS = 85

_SAY = re.compile(r"^\s*say\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_ASK_FOR_TOOL = re.compile(r"\b(call|use|run|invoke)\b.*\b(tool|function)s?\b", re.IGNORECASE)


def text_tokens(text: str | None) -> int:
    return math.ceil(len(text) / 4) if text else 0


def input_audio_tokens(ms: float) -> int:
    return math.ceil(ms / 100) if ms > 0 else 0


def output_audio_tokens(ms: float) -> int:
    return math.ceil(ms / 50) if ms > 0 else 0


def say_directive(instructions: str | None) -> str | None:
    """The text of the first ``Say: …`` line of the instructions, if any."""
    if not instructions:
        return None
    m = _SAY.search(instructions)
    return m.group(1) if m else None


def audio_transcript(ms: float) -> str:
    """What the mock "hears" in user audio it has no transcript for."""
    return f"[audio {ms / 1000:.2f}s]"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str


def _mentions(text: str, name: str) -> int:
    """Position of the tool's name in the text (or -1): ``get_weather``,
    ``get-weather`` and ``get weather`` all count."""
    lowered = text.lower()
    for form in {name.lower(), name.lower().replace("_", " ").replace("-", " ")}:
        m = re.search(r"(?<![a-z0-9])" + re.escape(form) + r"(?![a-z0-9])", lowered)
        if m:
            return m.start()
    return -1


def choose_tool_calls(
    user_text: str | None,
    tools: list[dict[str, Any]],
    tool_choice: str | dict[str, Any],
    parallel: bool,
    after_tool_output: bool,
) -> list[ToolCall]:
    """The function calls this response makes (empty: answer with words).

    :param after_tool_output: tool results arrived since the last user
        message; ``"auto"`` then answers with words instead of calling again.
    """
    if not tools or tool_choice == "none":
        return []
    by_name = {t["name"]: t for t in tools}
    if isinstance(tool_choice, dict):
        chosen = [by_name[tool_choice["name"]]]
    else:
        text = user_text or ""
        found = sorted((pos, t["name"]) for t in tools if (pos := _mentions(text, t["name"])) >= 0)
        chosen = [by_name[name] for _, name in found]
        if tool_choice == "auto":
            if after_tool_output:
                return []
            if not chosen and _ASK_FOR_TOOL.search(text):
                chosen = [tools[0]]
        elif not chosen:  # "required"
            chosen = [tools[0]]
    if not parallel:
        chosen = chosen[:1]
    return [ToolCall(t["name"], json.dumps(placeholder_arguments(t.get("parameters")), separators=(",", ":")))
            for t in chosen]


_STRING_FORMATS = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def placeholder_arguments(schema: Any) -> dict[str, Any]:
    """A JSON object with a placeholder for every *required* property.

    Placeholders: ``default``, ``const``, the first ``enum`` value or the first
    of ``examples`` when the schema gives one; otherwise ``"example"`` for
    strings (or a sample of their ``format``), ``1`` for numbers (moved into
    ``minimum``/``maximum``), ``true``, one element for arrays with
    ``minItems``, and nested objects filled the same way.  Local ``$ref``s are
    followed.
    """
    if not isinstance(schema, dict):
        return {}
    value = _placeholder(schema, schema, 0)
    return value if isinstance(value, dict) else {}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node
    return schema


def _placeholder(schema: Any, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 8:
        return "example"
    schema = _resolve(schema, root)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _placeholder((non_null or options)[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        return {name: _placeholder(props.get(name, {}), root, depth + 1) for name in required if isinstance(name, str)}
    if kind == "array":
        n = schema.get("minItems", 0)
        n = n if isinstance(n, int) and n > 0 else 0
        return [_placeholder(schema.get("items", {}), root, depth + 1) for _ in range(n)]
    if kind in ("integer", "number"):
        value: float = 1
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if isinstance(lo, (int, float)) and value < lo:
            value = lo
        if isinstance(hi, (int, float)) and value > hi:
            value = hi
        return int(math.ceil(value)) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    text = _STRING_FORMATS.get(fmt, "example") if isinstance(fmt, str) else "example"
    min_len = schema.get("minLength")
    if isinstance(min_len, int) and len(text) < min_len:
        text = text + "x" * (min_len - len(text))
    return text


@dataclass(frozen=True)
class Context:
    """What the model "sees" of the conversation, reduced to what the rules use."""

    #: The last user message as heard (text, audio transcript), or None.
    user_text: str | None = None
    #: ``(tool name, output)`` of each tool result after the last user message.
    tool_results: tuple[tuple[str, str], ...] = ()
    #: The response answers an idle timeout, not a user turn.
    idle: bool = False


def decide(
    ctx: Context,
    *,
    instructions: str | None,
    tools: list[dict[str, Any]],
    tool_choice: str | dict[str, Any],
    parallel_tool_calls: bool,
    reply_text: str | None,
) -> tuple[list[ToolCall], str]:
    """Apply the rules: the tool calls to make, else the text to say."""
    calls = choose_tool_calls(ctx.user_text, tools, tool_choice, parallel_tool_calls, bool(ctx.tool_results))
    if calls:
        return calls, ""
    said = say_directive(instructions)
    if said is not None:
        return [], said
    if ctx.tool_results:
        return [], " ".join(f"{name} returned: {output}" for name, output in ctx.tool_results)
    if reply_text:
        return [], reply_text
    if ctx.idle:
        return [], IDLE_PROMPT
    if ctx.user_text is None:
        return [], GREETING
    return [], f"You said: {ctx.user_text}"
