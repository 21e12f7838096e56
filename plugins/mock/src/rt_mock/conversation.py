"""The conversation: validated items in order, with their audio kept aside.

Server events show items *without* audio data (as the OpenAI service does);
only ``conversation.item.retrieved`` carries it.  So each item is stored as
its public JSON plus the raw audio bytes of its audio content parts.
"""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn

from rt_core import ClientEventError

from .audio import duration_ms

__all__ = ["Entry", "Conversation", "normalize_item", "decode_base64"]

_ITEM_KEYS = {
    "message": {"id", "type", "object", "status", "role", "content"},
    "function_call": {"id", "type", "object", "status", "call_id", "name", "arguments"},
    "function_call_output": {"id", "type", "object", "status", "call_id", "output"},
}
_CONTENT_KEYS = {
    "input_text": {"type", "text"},
    "input_audio": {"type", "audio", "transcript"},
    "input_image": {"type", "image_url", "detail"},
    "output_text": {"type", "text"},
    "output_audio": {"type", "audio", "transcript"},
}
_ROLE_CONTENT = {
    "system": ("input_text",),
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "output_audio"),
}


def _fail(message: str, param: str, code: str = "invalid_value") -> NoReturn:
    raise ClientEventError(message, code=code, param=param)


def decode_base64(value: Any, param: str) -> bytes:
    """Strict base64 (the service rejects anything else with an ``error``)."""
    if not isinstance(value, str):
        _fail(f"Invalid type for '{param}': expected a base64-encoded string.", param, "invalid_type")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        _fail(f"Invalid '{param}': the value is not valid base64-encoded audio.", param)


@dataclass
class Entry:
    """One conversation item."""

    item: dict[str, Any]
    #: content index → raw audio bytes, and the format they are in.
    audio: dict[int, bytes] = field(default_factory=dict)
    audio_format: dict[int, str] = field(default_factory=dict)
    #: content index → end time (ms) of each spoken word, for assistant audio.
    word_ends_ms: dict[int, list[float]] = field(default_factory=dict)
    #: content index → the words spoken, aligned with ``word_ends_ms``.
    words: dict[int, list[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        item_id: str = self.item["id"]
        return item_id

    def public(self) -> dict[str, Any]:
        """The item as ``conversation.item.added/done`` show it (no audio data)."""
        return copy.deepcopy(self.item)

    def with_audio(self) -> dict[str, Any]:
        """The item as ``conversation.item.retrieved`` shows it."""
        item = self.public()
        for index, data in self.audio.items():
            item["content"][index]["audio"] = base64.b64encode(data).decode("ascii")
        return item

    def audio_ms(self, index: int) -> float:
        data = self.audio.get(index)
        return duration_ms(len(data), self.audio_format[index]) if data else 0.0


class Conversation:
    """The default conversation: items by id, in order."""

    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._entries: dict[str, Entry] = {}
        self._order: list[str] = []

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def get(self, item_id: str) -> Entry | None:
        return self._entries.get(item_id)

    def entries(self) -> list[Entry]:
        return [self._entries[i] for i in self._order]

    def last_id(self) -> str | None:
        return self._order[-1] if self._order else None

    def add(self, entry: Entry, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` (``"root"``: first; ``None``: last).

        :return: the id of the item now before it (``None`` when first).
        """
        if previous_item_id is None:
            prev = self.last_id()
            self._order.append(entry.id)
        elif previous_item_id == "root":
            prev = None
            self._order.insert(0, entry.id)
        else:
            prev = previous_item_id
            self._order.insert(self._order.index(previous_item_id) + 1, entry.id)
        self._entries[entry.id] = entry
        return prev

    def delete(self, item_id: str) -> None:
        del self._entries[item_id]
        self._order.remove(item_id)


def normalize_item(raw: Any, param: str, ids: Callable[[str], str], input_format: str) -> Entry:
    """Validate a client item (``conversation.item.create`` or ``response.input``).

    :param input_format: the session's input audio format, which user audio is in.
    :raises ClientEventError: naming the offending field.
    """
    if not isinstance(raw, dict):
        _fail(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
    kind = raw.get("type")
    if kind is None:
        _fail(f"Missing required parameter: '{param}.type'.", f"{param}.type", "missing_required_parameter")
    if kind not in _ITEM_KEYS:
        _fail(f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call' and "
              "'function_call_output'.", f"{param}.type")
    for key in raw:
        if key not in _ITEM_KEYS[kind]:
            _fail(f"Unknown parameter: '{param}.{key}'.", f"{param}.{key}", "unknown_parameter")
    item_id = raw.get("id")
    if item_id is None:
        item_id = ids("item")
    elif not isinstance(item_id, str) or not item_id or len(item_id) > 64:
        _fail(f"Invalid '{param}.id': expected a non-empty string of at most 64 characters.", f"{param}.id")
    item: dict[str, Any] = {"id": item_id, "type": kind, "object": "realtime.item", "status": "completed"}
    entry = Entry(item)
    if kind == "message":
        _message(raw, param, entry, input_format)
    elif kind == "function_call":
        for key in ("name", "arguments"):
            if not isinstance(raw.get(key), str):
                _missing_or_type(raw, key, param)
        call_id = raw.get("call_id")
        if call_id is not None and not isinstance(call_id, str):
            _missing_or_type(raw, "call_id", param)
        item.update(call_id=call_id or ids("call"), name=raw["name"], arguments=raw["arguments"])
    else:
        for key in ("call_id", "output"):
            if not isinstance(raw.get(key), str):
                _missing_or_type(raw, key, param)
        item.update(call_id=raw["call_id"], output=raw["output"])
    return entry


def _missing_or_type(raw: dict[str, Any], key: str, param: str) -> NoReturn:
    if key not in raw:
        _fail(f"Missing required parameter: '{param}.{key}'.", f"{param}.{key}", "missing_required_parameter")
    _fail(f"Invalid type for '{param}.{key}': expected a string.", f"{param}.{key}", "invalid_type")


def _message(raw: dict[str, Any], param: str, entry: Entry, input_format: str) -> None:
    role = raw.get("role")
    if role is None:
        _fail(f"Missing required parameter: '{param}.role'.", f"{param}.role", "missing_required_parameter")
    if role not in _ROLE_CONTENT:
        _fail(f"Invalid value: '{role}'. Supported values are: 'user', 'assistant' and 'system'.", f"{param}.role")
    content = raw.get("content", [])
    if not isinstance(content, list):
        _fail(f"Invalid type for '{param}.content': expected an array.", f"{param}.content", "invalid_type")
    parts = []
    for i, part in enumerate(content):
        p = f"{param}.content[{i}]"
        if not isinstance(part, dict):
            _fail(f"Invalid type for '{p}': expected an object.", p, "invalid_type")
        ptype = part.get("type")
        allowed = _ROLE_CONTENT[role]
        if ptype not in allowed:
            _fail(f"Invalid value: '{ptype}'. Supported values for {role} messages are: "
                  + ", ".join(f"'{a}'" for a in allowed) + ".", f"{p}.type")
        for key in part:
            if key not in _CONTENT_KEYS[ptype]:
                _fail(f"Unknown parameter: '{p}.{key}'.", f"{p}.{key}", "unknown_parameter")
        if ptype in ("input_text", "output_text"):
            if not isinstance(part.get("text"), str):
                _missing_or_type(part, "text", p)
            parts.append({"type": ptype, "text": part["text"]})
        elif ptype in ("input_audio", "output_audio"):
            transcript = part.get("transcript")
            if transcript is not None and not isinstance(transcript, str):
                _fail(f"Invalid type for '{p}.transcript': expected a string.", f"{p}.transcript", "invalid_type")
            if part.get("audio") is not None:
                entry.audio[i] = decode_base64(part["audio"], f"{p}.audio")
                entry.audio_format[i] = input_format
            parts.append({"type": ptype, "transcript": transcript})
        else:
            if not isinstance(part.get("image_url"), str):
                _missing_or_type(part, "image_url", p)
            detail = part.get("detail", "auto")
            if detail not in ("auto", "low", "high"):
                _fail(f"Invalid value: '{detail}'. Supported values are: 'auto', 'low' and 'high'.", f"{p}.detail")
            parts.append({"type": ptype, "image_url": part["image_url"], "detail": detail})
    entry.item.update(role=role, content=parts)
