"""A fake OpenAI Realtime server on loopback (GA and beta dialects).

It speaks the wire protocol the way api.openai.com does -- JSON text frames,
``session.created`` first, the full response event order -- and validates
every frame it receives against the official openai SDK's client-event union
for the dialect the connection uses (``OpenAI-Beta: realtime=v1`` → beta).
Invalid frames are answered with an ``error`` event, as OpenAI does, and
recorded in :attr:`FakeOpenAI.invalid` so tests can assert nothing invalid
was ever sent upstream.

Behaviour (deterministic): text responses echo the last user text; audio
responses echo the committed audio (or a short tone) as
``response.output_audio.delta`` with a transcript; a function call is made
when tools are configured and the last user text names a tool.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from openai.types.beta.realtime import RealtimeClientEvent as BetaClientEvent
from openai.types.realtime import RealtimeClientEvent as GAClientEvent

GA_CLIENT = TypeAdapter(GAClientEvent)
BETA_CLIENT = TypeAdapter(BetaClientEvent)


def _literal_types(union: Any) -> frozenset[str]:
    import typing

    members = typing.get_args(typing.get_args(union)[0]) if typing.get_origin(union) is typing.Annotated else typing.get_args(union)
    return frozenset(typing.get_args(m.model_fields["type"].annotation)[0] for m in members)


GA_TYPES = _literal_types(GAClientEvent)
BETA_TYPES = _literal_types(BetaClientEvent)

# GA event name -> beta event name, written out here independently of rt.
BETA_NAMES = {
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
}


def tone(ms: int = 100, rate: int = 24000, hz: float = 440.0) -> bytes:
    n = rate * ms // 1000
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))


@dataclass
class Connection:
    """What one upstream connection saw."""

    path: str
    headers: dict[str, str]
    beta: bool
    received: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str | bytes] = field(default_factory=list)

    def types(self) -> list[str]:
        return [e.get("type", "?") for e in self.received]


@dataclass
class FakeOpenAI:
    """Scriptable fake.  Attributes may be changed by tests between sessions."""

    api_key: str | None = "sk-upstream"
    refuse_status: int | None = None
    close_after: int | None = None  # close after N received frames...
    close_code: int = 1011
    close_reason: str = "fake upstream failure"
    send_garbage_after: int | None = None
    delta_delay: float = 0.0
    deltas: int = 3
    transcription_events: int = 0  # extra transcription events after each commit
    port: int = 0
    connections: list[Connection] = field(default_factory=list)
    invalid: list[tuple[dict[str, Any] | str, str]] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def all_received(self) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.received]

    # ------------------------------------------------------------------ server

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        if self.refuse_status is not None:
            body = json.dumps({"error": {"message": f"fake refused with {self.refuse_status}", "type": "invalid_request_error"}}).encode()
            return Response(self.refuse_status, "Refused", Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))]), body)
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            body = b'{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}'
            return Response(401, "Unauthorized", Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))]), body)
        if not request.path.startswith("/v1/realtime") or "model=" not in request.path:
            return connection.respond(404, "not found\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        req = ws.request
        assert req is not None
        beta = req.headers.get("OpenAI-Beta") == "realtime=v1"
        conn = Connection(req.path, dict(req.headers.raw_items()), beta)
        self.connections.append(conn)
        await _Session(self, ws, conn).run()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["FakeOpenAI"]:
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request, compression=None, max_size=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self


class _Session:
    def __init__(self, fake: FakeOpenAI, ws: ServerConnection, conn: Connection) -> None:
        self.fake = fake
        self.ws = ws
        self.conn = conn
        self.n = 0
        self.session: dict[str, Any] = {
            "type": "realtime", "object": "realtime.session", "id": "sess_fake", "model": "gpt-realtime",
            "output_modalities": ["audio"], "instructions": "",
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": None,
                                "noise_reduction": None,
                                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                                   "silence_duration_ms": 500, "create_response": True,
                                                   "interrupt_response": True}},
                      "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0}},
            "tools": [], "tool_choice": "auto", "max_output_tokens": "inf",
        }
        self.audio = bytearray()
        self.last_text = ""
        self.items: list[str] = []
        self.active: anyio.CancelScope | None = None
        self.tg: Any = None

    def nid(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_fake{self.n:05d}"

    async def send(self, event: dict[str, Any]) -> None:
        event = {"type": event["type"], "event_id": self.nid("event"), **{k: v for k, v in event.items() if k != "type"}}
        if self.conn.beta:
            event = self._to_beta(event)
            if event is None:
                return
        await self.ws.send(json.dumps(event))

    def _to_beta(self, event: dict[str, Any]) -> dict[str, Any] | None:
        t = event["type"]
        if t in ("conversation.item.added",):
            return {**event, "type": "conversation.item.created"}
        if t == "conversation.item.done":
            return None
        if t in BETA_NAMES:
            event = {**event, "type": BETA_NAMES[t]}
        if t in ("session.created", "session.updated"):
            s = self.session
            a = s["audio"]
            fmt = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
            event["session"] = {
                "id": "sess_fake", "object": "realtime.session", "model": s["model"],
                "modalities": ["text", "audio"] if "audio" in s["output_modalities"] else ["text"],
                "instructions": s["instructions"], "voice": a["output"]["voice"],
                "input_audio_format": fmt[a["input"]["format"]["type"]],
                "output_audio_format": fmt[a["output"]["format"]["type"]],
                "input_audio_transcription": a["input"]["transcription"],
                "turn_detection": a["input"]["turn_detection"], "tools": s["tools"], "tool_choice": s["tool_choice"],
                "temperature": 0.8, "max_response_output_tokens": s["max_output_tokens"],
            }
        if t in ("response.created", "response.done"):
            r = dict(event["response"])
            mods = r.pop("output_modalities", ["audio"])
            r.pop("audio", None)
            r["modalities"] = ["text", "audio"] if "audio" in mods else ["text"]
            r["output"] = [self._item_to_beta(i) for i in r.get("output", [])]
            event["response"] = r
        if "item" in event:
            event["item"] = self._item_to_beta(event["item"])
        if "part" in event:
            event["part"] = dict(event["part"])
        return event

    @staticmethod
    def _item_to_beta(item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        if "content" in item:
            item["content"] = [
                {**c, "type": {"output_text": "text", "output_audio": "audio"}.get(c.get("type"), c.get("type"))}
                for c in item["content"]
            ]
        return item

    async def error(self, message: str, code: str, event_id: str | None, param: str | None = None) -> None:
        await self.send({"type": "error", "error": {"type": "invalid_request_error", "code": code, "message": message,
                                                    "param": param, "event_id": event_id}})

    async def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                await self.send({"type": "session.created", "session": self.session})
                async for raw in self.ws:
                    self.conn.raw.append(raw)
                    await self.on_frame(raw)
                    nrecv = len(self.conn.raw)
                    if self.fake.send_garbage_after is not None and nrecv == self.fake.send_garbage_after:
                        await self.ws.send("this is not json{")
                    if self.fake.close_after is not None and nrecv >= self.fake.close_after:
                        await self.ws.close(self.fake.close_code, self.fake.close_reason)
                        break
                tg.cancel_scope.cancel()
        except ConnectionClosed:
            pass

    async def on_frame(self, raw: str | bytes) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            self.fake.invalid.append((str(raw)[:200], "not JSON"))
            await self.error("invalid JSON", "invalid_json", None)
            return
        self.conn.received.append(data)
        known = BETA_TYPES if self.conn.beta else GA_TYPES
        if data.get("type") not in known:
            # What api.openai.com answers for an unknown event type.
            await self.error(f"Invalid value: '{data.get('type')}'. Supported values are: {', '.join(sorted(known))}.",
                             "invalid_value", data.get("event_id"), "type")
            return
        adapter = BETA_CLIENT if self.conn.beta else GA_CLIENT
        try:
            adapter.validate_python(data)
        except ValidationError as exc:
            self.fake.invalid.append((data, str(exc)[:500]))
            await self.error(f"Invalid event: {str(exc)[:200]}", "invalid_value", data.get("event_id"))
            return
        await self.dispatch(data)

    async def dispatch(self, ev: dict[str, Any]) -> None:
        t = ev["type"]
        eid = ev.get("event_id")
        if t == "session.update":
            upd = ev["session"]
            if self.conn.beta:
                upd = _beta_session_to_ga(upd)
            for k, v in upd.items():
                if k == "audio":
                    for side in ("input", "output"):
                        if side in v:
                            self.session["audio"][side].update(v[side])
                else:
                    self.session[k] = v
            await self.send({"type": "session.updated", "session": self.session})
        elif t == "input_audio_buffer.append":
            self.audio.extend(base64.b64decode(ev["audio"]))
        elif t == "input_audio_buffer.clear":
            self.audio.clear()
            await self.send({"type": "input_audio_buffer.cleared"})
        elif t == "input_audio_buffer.commit":
            if not self.audio:
                await self.error("Error committing input audio buffer: buffer too small.", "input_audio_buffer_commit_empty", eid)
                return
            item_id = self.nid("item")
            prev = self.items[-1] if self.items else None
            self.items.append(item_id)
            await self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": prev})
            item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
                    "content": [{"type": "input_audio", "transcript": None}]}
            await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": prev})
            await self.send({"type": "conversation.item.done", "item": item, "previous_item_id": prev})
            for i in range(self.fake.transcription_events):
                await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                                 "content_index": 0, "transcript": f"transcript {i}",
                                 "usage": {"type": "duration", "seconds": 1.0}})
            self.last_audio = bytes(self.audio)
            self.audio.clear()
        elif t == "conversation.item.create":
            item = dict(ev["item"])
            item.setdefault("id", self.nid("item"))
            item.setdefault("object", "realtime.item")
            item.setdefault("status", "completed")
            prev = self.items[-1] if self.items else None
            self.items.append(item["id"])
            for c in item.get("content", []) or []:
                if c.get("type") == "input_text":
                    self.last_text = c.get("text", "")
            if item.get("type") == "function_call_output":
                self.last_text = f"tool said {item.get('output')}"
            await self.send({"type": "conversation.item.added", "item": item, "previous_item_id": prev})
            await self.send({"type": "conversation.item.done", "item": item, "previous_item_id": prev})
        elif t == "response.create":
            if self.active is not None:
                await self.error("Conversation already has an active response", "conversation_already_has_active_response", eid)
                return
            self.active = anyio.CancelScope()
            self.tg.start_soon(self.respond, self.active, ev.get("response") or {})
        elif t == "response.cancel":
            if self.active is None:
                await self.error("Cancellation failed: no active response found", "response_cancel_not_active", eid)
                return
            self.active.cancel()
        elif t in ("conversation.item.delete", "conversation.item.truncate", "conversation.item.retrieve"):
            item_id = ev.get("item_id")
            if item_id not in self.items:
                await self.error(f"Item {item_id} does not exist", "item_not_found", eid, "item_id")
                return
            if t == "conversation.item.delete":
                self.items.remove(item_id)
                await self.send({"type": "conversation.item.deleted", "item_id": item_id})
            elif t == "conversation.item.truncate":
                await self.send({"type": "conversation.item.truncated", "item_id": item_id,
                                 "content_index": ev.get("content_index", 0), "audio_end_ms": ev.get("audio_end_ms", 0)})
        else:
            await self.error(f"Invalid value: '{t}'", "invalid_value", eid, "type")

    async def respond(self, scope: anyio.CancelScope, opts: dict[str, Any]) -> None:
        rid = self.nid("resp")
        mods = opts.get("output_modalities") or opts.get("modalities") or self.session["output_modalities"]
        audio_out = "audio" in mods
        base = {"id": rid, "object": "realtime.response", "status": "in_progress", "status_details": None,
                "output": [], "output_modalities": ["audio"] if audio_out else ["text"], "usage": None,
                "conversation_id": "conv_fake", "max_output_tokens": "inf", "metadata": None}
        await self.send({"type": "response.created", "response": base})
        output: list[dict[str, Any]] = []
        status, reason = "completed", None
        with scope:
            tool = self._tool_for(self.last_text)
            if tool is not None:
                output.append(await self._function_call(rid, tool))
            else:
                output.append(await self._message(rid, audio_out))
        if scope.cancel_called:
            status, reason = "cancelled", "client_cancelled"
        self.active = None
        usage = {"total_tokens": 30, "input_tokens": 10, "output_tokens": 20,
                 "input_token_details": {"text_tokens": 10, "audio_tokens": 0, "cached_tokens": 0},
                 "output_token_details": {"text_tokens": 5, "audio_tokens": 15}}
        await self.send({"type": "response.done", "response": {
            **base, "status": status,
            "status_details": {"type": status, "reason": reason} if reason else None,
            "output": output, "usage": usage}})

    def _tool_for(self, text: str) -> dict[str, Any] | None:
        for tool in self.session.get("tools") or []:
            if tool.get("name") and tool["name"] in text:
                return tool
        return None

    async def _function_call(self, rid: str, tool: dict[str, Any]) -> dict[str, Any]:
        item_id, call_id = self.nid("item"), self.nid("call")
        args = json.dumps({"city": "Paris"})
        item = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
                "name": tool["name"], "call_id": call_id, "arguments": ""}
        common = {"response_id": rid, "output_index": 0}
        await self.send({"type": "response.output_item.added", **common, "item": item})
        await self.send({"type": "response.function_call_arguments.delta", **common, "item_id": item_id,
                         "call_id": call_id, "delta": args})
        await self.send({"type": "response.function_call_arguments.done", **common, "item_id": item_id,
                         "call_id": call_id, "name": tool["name"], "arguments": args})
        done = {**item, "status": "completed", "arguments": args}
        await self.send({"type": "response.output_item.done", **common, "item": done})
        self.items.append(item_id)
        return done

    async def _message(self, rid: str, audio_out: bool) -> dict[str, Any]:
        item_id = self.nid("item")
        text = f"You said: {self.last_text}" if self.last_text else "Hello from the fake."
        ctype = "output_audio" if audio_out else "output_text"
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}
        common = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        await self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": item})
        await self.send({"type": "conversation.item.added", "item": item})
        part = {"type": "audio", "transcript": ""} if audio_out else {"type": "text", "text": ""}
        await self.send({"type": "response.content_part.added", **common, "part": part})
        words = text.split(" ")
        chunks = [" ".join(words[i::self.fake.deltas]) for i in range(self.fake.deltas)]
        chunks = [text[i * len(text) // self.fake.deltas:(i + 1) * len(text) // self.fake.deltas] for i in range(self.fake.deltas)]
        audio = getattr(self, "last_audio", None) or tone(100)
        step = max(2, (len(audio) // self.fake.deltas) & ~1)
        for i, chunk in enumerate(chunks):
            if self.fake.delta_delay:
                await anyio.sleep(self.fake.delta_delay)
            if audio_out:
                piece = audio[i * step:(i + 1) * step if i < self.fake.deltas - 1 else len(audio)]
                await self.send({"type": "response.output_audio.delta", **common, "delta": base64.b64encode(piece).decode()})
                await self.send({"type": "response.output_audio_transcript.delta", **common, "delta": chunk})
            else:
                await self.send({"type": "response.output_text.delta", **common, "delta": chunk})
        if audio_out:
            await self.send({"type": "response.output_audio.done", **common})
            await self.send({"type": "response.output_audio_transcript.done", **common, "transcript": text})
            part = {"type": "audio", "transcript": text}
            content = {"type": "output_audio", "transcript": text}
        else:
            await self.send({"type": "response.output_text.done", **common, "text": text})
            part = {"type": "text", "text": text}
            content = {"type": "output_text", "text": text}
        await self.send({"type": "response.content_part.done", **common, "part": part})
        done = {**item, "status": "completed", "content": [content]}
        await self.send({"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": done})
        await self.send({"type": "conversation.item.done", "item": done})
        self.items.append(item_id)
        return done


def _beta_session_to_ga(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fmt = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"}, "g711_alaw": {"type": "audio/pcma"}}
    audio: dict[str, dict[str, Any]] = {"input": {}, "output": {}}
    for k, v in s.items():
        if k == "modalities":
            out["output_modalities"] = ["audio"] if "audio" in v else ["text"]
        elif k == "input_audio_format":
            audio["input"]["format"] = fmt[v]
        elif k == "output_audio_format":
            audio["output"]["format"] = fmt[v]
        elif k == "voice":
            audio["output"]["voice"] = v
        elif k == "turn_detection":
            audio["input"]["turn_detection"] = v
        elif k == "input_audio_transcription":
            audio["input"]["transcription"] = v
        elif k in ("instructions", "tools", "tool_choice"):
            out[k] = v
    out["audio"] = {k: v for k, v in audio.items() if v}
    return out
