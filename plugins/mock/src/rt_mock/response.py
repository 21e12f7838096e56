"""One response, streamed step by step in the GA event order.

A response is planned up front (which output items, which words or argument
chunks) and then emitted one *step* at a time: the translator schedules a
timer between steps, so a response takes real time and ``response.cancel`` or
new speech can interrupt it half-way, exactly as with a real model.

Per message item the events are, in order::

    response.output_item.added        (item in_progress, no content)
    conversation.item.added           (unless conversation: "none")
    response.content_part.added
    response.output_audio.delta + response.output_audio_transcript.delta   (one pair per word)
      or response.output_text.delta                                        (one per word)
    response.output_audio.done + response.output_audio_transcript.done
      or response.output_text.done
    response.content_part.done
    response.output_item.done
    conversation.item.done            (unless conversation: "none")

A function call item has ``response.function_call_arguments.delta`` chunks
and ``.done`` instead of content parts.  ``response.done`` ends the response
with every output item and the usage.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .audio import bytes_per_ms, synth_word, word_duration_ms
from .conversation import Conversation, Entry
from .replies import ToolCall, output_audio_tokens, text_tokens
from .session_config import ResponseParams

__all__ = ["ResponseRun", "split_words", "split_arguments"]

ARGUMENT_CHUNK = 16


def split_words(text: str) -> list[str]:
    """Token-like deltas: ``"You said: hi"`` → ``["You", " said:", " hi"]``."""
    words = text.split()
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def split_arguments(arguments: str) -> list[str]:
    return [arguments[i : i + ARGUMENT_CHUNK] for i in range(0, len(arguments), ARGUMENT_CHUNK)] or [""]


@dataclass
class _Output:
    """One output item: its plan and how far it has been emitted."""

    entry: Entry
    output_index: int
    chunks: list[str]
    call: ToolCall | None = None
    emitted: int = 0
    started: bool = False
    finished: bool = False
    previous_item_id: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    word_ends_ms: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.chunks[: self.emitted])


class ResponseRun:
    """A response in flight.  Pure: every method returns the events to send.

    :param emit: builds a server event dict (adds ``type`` and ``event_id``).
    :param conversation: the default conversation, or ``None`` for an
        out-of-band response (``conversation: "none"``).
    :param input_usage: ``(text_tokens, audio_tokens, image_tokens)`` of the context.
    """

    def __init__(
        self,
        *,
        response_id: str,
        params: ResponseParams,
        calls: list[ToolCall],
        text: str,
        conversation: Conversation | None,
        conversation_id: str | None,
        ids: Callable[[str], str],
        emit: Callable[..., dict[str, Any]],
        input_usage: tuple[int, int, int],
    ) -> None:
        self.id = response_id
        self.params = params
        self.conversation = conversation
        self.conversation_id = conversation_id
        self.emit = emit
        self.input_usage = input_usage
        self.audio_format: str | None = params.output_format["type"] if params.output_modalities == ["audio"] else None
        self.outputs: list[_Output] = []
        for call in calls:
            entry = Entry({"id": ids("item"), "type": "function_call", "object": "realtime.item",
                           "status": "in_progress", "name": call.name, "call_id": ids("call"), "arguments": ""})
            self.outputs.append(_Output(entry, len(self.outputs), split_arguments(call.arguments), call=call))
        if not calls:
            entry = Entry({"id": ids("item"), "type": "message", "object": "realtime.item", "status": "in_progress",
                           "role": "assistant", "content": []})
            self.outputs.append(_Output(entry, 0, split_words(text)))
        self.truncated = self._apply_budget(params.max_output_tokens)
        self._cursor = 0
        self.done = False
        #: Audio duration (ms) emitted by the last step, for real-time pacing.
        self.last_step_audio_ms = 0.0

    # ------------------------------------------------------------------ planning

    def _chunk_tokens(self, out: _Output, upto: int) -> int:
        text = "".join(out.chunks[:upto])
        if out.call is not None:
            return text_tokens(out.call.name) + text_tokens(text)
        if self.audio_format is None:
            return text_tokens(text)
        ms = sum(word_duration_ms(w.strip()) for w in out.chunks[:upto])
        return text_tokens(text) + output_audio_tokens(ms)

    def _apply_budget(self, budget: int | str) -> bool:
        """Cut the plan at ``max_output_tokens``; True when something was cut."""
        if budget == "inf":
            return False
        spent = 0
        for i, out in enumerate(self.outputs):
            keep = 0
            while keep < len(out.chunks) and spent + self._chunk_tokens(out, keep + 1) <= int(budget):
                keep += 1
            if keep < len(out.chunks):
                out.chunks = out.chunks[:keep]
                del self.outputs[i + 1 :]
                return True
            spent += self._chunk_tokens(out, keep)
        return False

    # ------------------------------------------------------------------ events

    def created(self) -> list[dict[str, Any]]:
        return [self.emit("response.created", response=self._response("in_progress", None))]

    def step(self) -> list[dict[str, Any]]:
        """Emit the next chunk, starting and finishing items around it."""
        events: list[dict[str, Any]] = []
        self.last_step_audio_ms = 0.0
        while not self.done:
            if self._cursor >= len(self.outputs):
                if self.truncated:
                    details = {"type": "incomplete", "reason": "max_output_tokens"}
                    events += self._done("incomplete", details)
                else:
                    events += self._done("completed", None)
                break
            out = self.outputs[self._cursor]
            if not out.started:
                events += self._start(out)
            if out.emitted < len(out.chunks):
                events += self._chunk(out)
                if out.emitted < len(out.chunks):
                    break
            last = self._cursor == len(self.outputs) - 1
            events += self._finish(out, "incomplete" if self.truncated and last else "completed")
            self._cursor += 1
        return events

    def cancel(self, reason: str) -> list[dict[str, Any]]:
        """Stop now: close the item being emitted, drop the rest."""
        events: list[dict[str, Any]] = []
        if self._cursor < len(self.outputs):
            out = self.outputs[self._cursor]
            if out.started and not out.finished:
                events += self._finish(out, "incomplete")
            del self.outputs[self._cursor + (1 if out.started else 0) :]
        events += self._done("cancelled", {"type": "cancelled", "reason": reason})
        return events

    def _ids(self, out: _Output) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": out.entry.id, "output_index": out.output_index}

    def _start(self, out: _Output) -> list[dict[str, Any]]:
        out.started = True
        events = [self.emit("response.output_item.added", response_id=self.id, output_index=out.output_index,
                            item=out.entry.public())]
        if self.conversation is not None:
            out.previous_item_id = self.conversation.add(out.entry)
            events.append(self.emit("conversation.item.added", previous_item_id=out.previous_item_id,
                                    item=out.entry.public()))
        if out.call is None:
            part = {"type": "audio", "transcript": ""} if self.audio_format else {"type": "text", "text": ""}
            events.append(self.emit("response.content_part.added", **self._ids(out), content_index=0, part=part))
        return events

    def _chunk(self, out: _Output) -> list[dict[str, Any]]:
        delta = out.chunks[out.emitted]
        out.emitted += 1
        ids = self._ids(out)
        if out.call is not None:
            return [self.emit("response.function_call_arguments.delta", **ids, call_id=out.entry.item["call_id"],
                              delta=delta)]
        if self.audio_format is None:
            return [self.emit("response.output_text.delta", **ids, content_index=0, delta=delta)]
        audio = synth_word(delta, self.audio_format)
        out.audio += audio
        ms = len(audio) / bytes_per_ms(self.audio_format)
        self.last_step_audio_ms = ms
        out.word_ends_ms.append((out.word_ends_ms[-1] if out.word_ends_ms else 0.0) + ms)
        return [
            self.emit("response.output_audio.delta", **ids, content_index=0,
                      delta=base64.b64encode(audio).decode("ascii")),
            self.emit("response.output_audio_transcript.delta", **ids, content_index=0, delta=delta),
        ]

    def _finish(self, out: _Output, status: str) -> list[dict[str, Any]]:
        out.finished = True
        ids = self._ids(out)
        item = out.entry.item
        item["status"] = status
        events = []
        if out.call is not None:
            item["arguments"] = out.text
            events.append(self.emit("response.function_call_arguments.done", **ids, call_id=item["call_id"],
                                    name=item["name"], arguments=out.text))
        elif self.audio_format is None:
            item["content"] = [{"type": "output_text", "text": out.text}]
            events += [
                self.emit("response.output_text.done", **ids, content_index=0, text=out.text),
                self.emit("response.content_part.done", **ids, content_index=0,
                          part={"type": "text", "text": out.text}),
            ]
        else:
            item["content"] = [{"type": "output_audio", "transcript": out.text}]
            out.entry.audio[0] = bytes(out.audio)
            out.entry.audio_format[0] = self.audio_format
            out.entry.words[0] = list(out.chunks[: out.emitted])
            out.entry.word_ends_ms[0] = list(out.word_ends_ms)
            events += [
                self.emit("response.output_audio.done", **ids, content_index=0),
                self.emit("response.output_audio_transcript.done", **ids, content_index=0, transcript=out.text),
                self.emit("response.content_part.done", **ids, content_index=0,
                          part={"type": "audio", "transcript": out.text}),
            ]
        events.append(self.emit("response.output_item.done", response_id=self.id, output_index=out.output_index,
                                item=out.entry.public()))
        if self.conversation is not None:
            events.append(self.emit("conversation.item.done", previous_item_id=out.previous_item_id,
                                    item=out.entry.public()))
        return events

    def _done(self, status: str, details: dict[str, Any] | None) -> list[dict[str, Any]]:
        self.done = True
        return [self.emit("response.done", response=self._response(status, details))]

    # ------------------------------------------------------------------ the response object

    @property
    def output_audio_ms(self) -> float:
        return sum(len(o.audio) for o in self.outputs) / bytes_per_ms(self.audio_format) if self.audio_format else 0.0

    def usage(self) -> dict[str, Any]:
        text_out = 0
        for out in self.outputs:
            if not out.started:
                continue
            text_out += text_tokens(out.text)
            if out.call is not None:
                text_out += text_tokens(out.call.name)
        audio_out = output_audio_tokens(self.output_audio_ms)
        text_in, audio_in, image_in = self.input_usage
        input_tokens = text_in + audio_in + image_in
        output_tokens = text_out + audio_out
        return {
            "total_tokens": input_tokens + output_tokens,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "image_tokens": image_in,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }

    def _response(self, status: str, details: dict[str, Any] | None) -> dict[str, Any]:
        final = status != "in_progress"
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": details,
            "output": [o.entry.public() for o in self.outputs if o.started] if final else [],
            "conversation_id": self.conversation_id,
            "output_modalities": list(self.params.output_modalities),
            "max_output_tokens": self.params.max_output_tokens,
            "audio": {"output": {"format": dict(self.params.output_format), "voice": self.params.voice}},
            "usage": self.usage() if final else None,
            "metadata": self.params.metadata,
        }
