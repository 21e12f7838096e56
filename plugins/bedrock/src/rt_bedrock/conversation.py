"""The conversation rt keeps for a Nova session, and the history it seeds.

Nova Sonic has no conversation API: the model's context lives inside one
stream and dies with it.  rt therefore keeps every item the client sees (GA
item shape, for ``conversation.item.retrieve``/``delete``) and renders them as
Nova history text blocks whenever a new stream must carry the conversation on
(continuation, reconfiguration, recovery).  Nova history is text only, with
roles USER and ASSISTANT; function calls and their results are written out as
text so the model still knows what happened.

Size limits follow strands-agents and AWS's session-continuation sample:
one message at most 50 KB, the whole history at most 200 KB, oldest dropped
first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Conversation", "HistoryMessage", "MAX_MESSAGE_BYTES", "MAX_HISTORY_BYTES"]

MAX_MESSAGE_BYTES = 50 * 1024
MAX_HISTORY_BYTES = 200 * 1024


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    role: str  # USER | ASSISTANT
    text: str


def _truncate(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = " … [truncated]"
    return data[: limit - len(marker.encode())].decode("utf-8", "ignore") + marker


def item_text(item: dict[str, Any]) -> str:
    """The text of a message item (text parts, else audio transcripts)."""
    parts: list[str] = []
    for c in item.get("content") or ():
        if not isinstance(c, dict):
            continue
        t = c.get("text")
        if not isinstance(t, str) or not t:
            t = c.get("transcript")
        if isinstance(t, str) and t:
            parts.append(t)
    return "\n".join(parts)


class Conversation:
    """Items in conversation order, by id."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> dict[str, Any] | None:
        return self._items.get(item_id)

    def last_id(self) -> str | None:
        return next(reversed(self._items), None) if self._items else None

    def add(self, item: dict[str, Any], previous_item_id: str | None = None) -> str | None:
        """Add ``item``; returns the id of the item before it (``None`` when first)."""
        item_id = item["id"]
        if previous_item_id is None or previous_item_id not in self._items:
            prev = self.last_id()
            self._items[item_id] = item
            return prev
        # Insert after previous_item_id, keeping order.
        items = list(self._items.items())
        idx = next(i for i, (k, _) in enumerate(items) if k == previous_item_id)
        items.insert(idx + 1, (item_id, item))
        self._items = dict(items)
        return previous_item_id

    def delete(self, item_id: str) -> bool:
        return self._items.pop(item_id, None) is not None

    def items(self) -> list[dict[str, Any]]:
        return list(self._items.values())

    def system_texts(self) -> list[str]:
        return [
            t for it in self._items.values()
            if it.get("type") == "message" and it.get("role") == "system" and (t := item_text(it))
        ]

    def history(self, exclude: set[str] | frozenset[str] = frozenset()) -> list[HistoryMessage]:
        """Nova history messages for every item, newest kept within the limits."""
        out: list[HistoryMessage] = []
        for it in self._items.values():
            if it.get("id") in exclude:
                continue
            msg = _history_message(it)
            if msg is not None:
                out.append(HistoryMessage(msg.role, _truncate(msg.text, MAX_MESSAGE_BYTES)))
        total = 0
        kept: list[HistoryMessage] = []
        for m in reversed(out):
            size = len(m.text.encode("utf-8"))
            if total + size > MAX_HISTORY_BYTES:
                break
            total += size
            kept.append(m)
        kept.reverse()
        return kept


def _history_message(item: dict[str, Any]) -> HistoryMessage | None:
    kind = item.get("type")
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant"):
            return None
        text = item_text(item)
        return HistoryMessage(role.upper(), text) if text else None
    if kind == "function_call":
        args = item.get("arguments") or "{}"
        return HistoryMessage("ASSISTANT", f"(I called the tool {item.get('name')} with {args}.)")
    if kind == "function_call_output":
        out = item.get("output")
        if not isinstance(out, str):
            out = json.dumps(out)
        return HistoryMessage("USER", f"(Tool result for call {item.get('call_id')}: {out})")
    return None
