"""One OpenAI response and the exact event sequence that describes it.

OpenAI clients rely on this order, with stable ids::

    response.created
      response.output_item.added → conversation.item.added
        response.content_part.added
          response.output_audio.delta / response.output_audio_transcript.delta
          (or response.output_text.delta)
        response.output_audio.done → response.output_audio_transcript.done
        (or response.output_text.done)
        response.content_part.done
      response.output_item.done → conversation.item.done
      (function calls: output_item.added → conversation.item.added →
       function_call_arguments.delta → .done → output_item.done → conversation.item.done)
    response.done   (output items filled in, usage mapped)

:class:`ResponseState` produces those events; the translator decides when.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rt_core import Event

from .conversation import Conversation, ItemInfo

__all__ = ["ResponseState", "MessageState", "Emitter"]

Events = list[Any]  # dicts, or Event for pre-serialised hot-path events

_AUDIO_DELTA_START = '{"type":"response.output_audio.delta","event_id":"'


class Emitter:
    """Makes server events, each with a fresh ``event_id``."""

    __slots__ = ("ids",)

    def __init__(self, ids: Callable[[str], str]) -> None:
        self.ids = ids

    def __call__(self, type_: str, **fields: Any) -> dict[str, Any]:
        return {"type": type_, "event_id": self.ids("event"), **fields}


@dataclass
class MessageState:
    """The assistant message item a response is streaming into."""

    item_id: str
    output_index: int
    kind: str  # "audio" or "text"
    info: ItemInfo
    chunks: list[str] = field(default_factory=list)  # transcript (audio) or text pieces
    audio_ms: float = 0.0
    closed: bool = False
    #: The constant middle of this message's audio deltas (built at the first one).
    audio_delta_head: str = ""

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass
class ResponseState:
    """One response from ``response.created`` to ``response.done``."""

    id: str
    conversation: Conversation
    emit: Emitter
    modalities: list[str]
    voice: str
    output_format: dict[str, Any]
    max_output_tokens: int | str = "inf"
    metadata: dict[str, Any] | None = None
    #: "client" (a response.create asked for it) or "server" (Gemini replied by itself).
    origin: str = "client"
    #: Per-response tool_choice ("none" makes rt answer Gemini's calls with an error).
    tool_choice: Any = None
    output: list[dict[str, Any]] = field(default_factory=list)
    message: MessageState | None = None
    usage: dict[str, Any] | None = None
    #: A response.create is matched to this response (server-initiated ones start unclaimed).
    claimed: bool = False
    #: Gemini has produced something for this response.
    started: bool = False
    #: Text parts held back in audio mode (sent only if no audio comes).
    unspoken: list[str] = field(default_factory=list)
    rejected_calls: int = 0
    done: bool = False

    # ------------------------------------------------------------------ lifecycle

    def _object(self, status: str, status_details: Any = None, usage: Any = None, output: Any = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": status_details,
            "output": output if output is not None else [],
            "conversation_id": self.conversation.id,
            "output_modalities": list(self.modalities),
            "audio": {"output": {"format": self.output_format, "voice": self.voice}},
            "max_output_tokens": self.max_output_tokens,
            "metadata": self.metadata,
            "usage": usage,
        }

    def created(self) -> dict[str, Any]:
        return self.emit("response.created", response=self._object("in_progress"))

    def finish(self, status: str = "completed", status_details: dict[str, Any] | None = None) -> Events:
        """Close whatever is open and end the response with ``response.done``."""
        if self.done:
            return []
        events: Events = []
        item_status = "completed" if status == "completed" else "incomplete"
        if self.message is None and self.unspoken and status == "completed":
            # Audio was asked for, but Gemini answered in text only: that text is the reply.
            events += self.open_message("text")
            events += self.text_delta("".join(self.unspoken))
        self.unspoken = []
        events += self.close_message(item_status)
        self.done = True
        if status_details is None and status != "completed":
            status_details = {"type": status}
        events.append(self.emit(
            "response.done",
            response=self._object(status, status_details, self.usage, copy.deepcopy(self.output)),
        ))
        return events

    # ------------------------------------------------------------------ message content

    def open_message(self, kind: str) -> Events:
        """Start the assistant message (``kind`` = the content part: audio or text)."""
        if self.message is not None and not self.message.closed:
            return []
        item_id = self.emit.ids("item")
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}
        info, previous = self.conversation.add(copy.deepcopy(item), upstream=True)
        output_index = len(self.output)
        self.output.append(item)
        self.message = MessageState(item_id, output_index, kind, info)
        part = {"type": "audio", "transcript": ""} if kind == "audio" else {"type": "text", "text": ""}
        return [
            self.emit("response.output_item.added", response_id=self.id, output_index=output_index, item=copy.deepcopy(item)),
            self.emit("conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)),
            self.emit("response.content_part.added", response_id=self.id, item_id=item_id,
                      output_index=output_index, content_index=0, part=part),
        ]

    def audio_delta(self, b64: str, ms: float) -> Event:
        """A pre-serialised ``response.output_audio.delta`` (the hot path)."""
        return Event("response.output_audio.delta", self.audio_delta_text(b64, ms))

    def audio_delta_text(self, b64: str, ms: float) -> str:
        """The text of :meth:`audio_delta` (the relay's quick route sends it as it is)."""
        m = self.message
        assert m is not None
        m.audio_ms += ms
        m.info.audio_ms = m.audio_ms
        head = m.audio_delta_head
        if not head:
            head = m.audio_delta_head = (
                '","response_id":"' + self.id + '","item_id":"' + m.item_id
                + '","output_index":' + str(m.output_index) + ',"content_index":0,"delta":"'
            )
        return f'{_AUDIO_DELTA_START}{self.emit.ids("event")}{head}{b64}"}}'

    def transcript_delta(self, text: str) -> Events:
        m = self.message
        assert m is not None
        m.chunks.append(text)
        return [self.emit("response.output_audio_transcript.delta", response_id=self.id, item_id=m.item_id,
                          output_index=m.output_index, content_index=0, delta=text)]

    def text_delta(self, text: str) -> Events:
        m = self.message
        assert m is not None
        m.chunks.append(text)
        return [self.emit("response.output_text.delta", response_id=self.id, item_id=m.item_id,
                          output_index=m.output_index, content_index=0, delta=text)]

    def close_message(self, status: str = "completed") -> Events:
        m = self.message
        if m is None or m.closed:
            return []
        m.closed = True
        common = {"response_id": self.id, "item_id": m.item_id, "output_index": m.output_index, "content_index": 0}
        text = m.text
        events: Events = []
        if m.kind == "audio":
            content = {"type": "output_audio", "transcript": text}
            events.append(self.emit("response.output_audio.done", **common))
            events.append(self.emit("response.output_audio_transcript.done", **common, transcript=text))
            events.append(self.emit("response.content_part.done", **common, part={"type": "audio", "transcript": text}))
        else:
            content = {"type": "output_text", "text": text}
            events.append(self.emit("response.output_text.done", **common, text=text))
            events.append(self.emit("response.content_part.done", **common, part={"type": "text", "text": text}))
        item = self.output[m.output_index]
        item["status"] = status
        item["content"] = [content]
        m.info.item = copy.deepcopy(item)
        events.append(self.emit("response.output_item.done", response_id=self.id, output_index=m.output_index,
                                item=copy.deepcopy(item)))
        events.append(self.emit("conversation.item.done", item=copy.deepcopy(item)))
        return events

    # ------------------------------------------------------------------ function calls

    def function_call(self, call_id: str, name: str, arguments: str) -> tuple[Events, str]:
        """A complete function call item (Gemini sends the arguments whole)."""
        events = self.close_message("completed")
        item_id = self.emit.ids("item")
        output_index = len(self.output)
        added = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
                 "call_id": call_id, "name": name, "arguments": ""}
        final = {**added, "status": "completed", "arguments": arguments}
        self.output.append(final)
        info, previous = self.conversation.add(copy.deepcopy(final), upstream=True)
        info.extra["call_id"] = call_id
        common = {"response_id": self.id, "item_id": item_id, "output_index": output_index, "call_id": call_id}
        events += [
            self.emit("response.output_item.added", response_id=self.id, output_index=output_index, item=added),
            self.emit("conversation.item.added", previous_item_id=previous, item=copy.deepcopy(added)),
            self.emit("response.function_call_arguments.delta", **common, delta=arguments),
            self.emit("response.function_call_arguments.done", **common, name=name, arguments=arguments),
            self.emit("response.output_item.done", response_id=self.id, output_index=output_index, item=copy.deepcopy(final)),
            self.emit("conversation.item.done", item=copy.deepcopy(final)),
        ]
        return events, item_id

