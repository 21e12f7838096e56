"""rt's copy of the OpenAI conversation: items, their order and what Gemini has.

Gemini keeps its own history and offers no way to read, edit or delete it, so
rt remembers every item the client saw (without audio data) to answer
``conversation.item.retrieve``, to check ``previous_item_id``,
``conversation.item.truncate`` and ``conversation.item.delete``, and to know
which items were already sent to Gemini.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conversation", "ItemInfo"]


@dataclass
class ItemInfo:
    """What rt knows about one item besides its OpenAI form."""

    item: dict[str, Any]
    #: Sent to Gemini (history can no longer be changed there).
    upstream: bool = False
    #: Milliseconds of assistant audio delivered to the client (for truncate).
    audio_ms: float = 0.0
    truncated_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Conversation:
    """Ordered items by id."""

    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._items: dict[str, ItemInfo] = {}
        self.last_id: str | None = None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: dict[str, Any], *, upstream: bool = False) -> tuple[ItemInfo, str | None]:
        """Append ``item`` (which has an ``id``); returns its info and the previous item id."""
        previous = self.last_id
        info = ItemInfo(item, upstream=upstream)
        self._items[item["id"]] = info
        self.last_id = item["id"]
        return info, previous

    def get(self, item_id: str) -> ItemInfo | None:
        return self._items.get(item_id)

    def remove(self, item_id: str) -> None:
        self._items.pop(item_id, None)
        if self.last_id == item_id:
            self.last_id = next(reversed(self._items), None) if self._items else None

    def snapshot(self, item_id: str) -> dict[str, Any] | None:
        info = self._items.get(item_id)
        return copy.deepcopy(info.item) if info is not None else None
