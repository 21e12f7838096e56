"""A fake xAI Grok Voice Agent API server on loopback.

It speaks xAI's dialect of the OpenAI Realtime protocol as far as it is
known (protocols.md section 5; pipecat's and LiveKit's xAI clients), with
every difference an OpenAI client trips over:

* ``conversation.created`` is the first event (no ``session.created``,
  unless :attr:`FakeXAI.send_session_created` emulates newer servers), and
  ``ping {timestamp}`` keep-alives arrive between events;
* the session keeps ``voice`` and ``turn_detection`` at the top level; voices
  are xAI's (ara, eve, leo, rex, sal; case-insensitive); turn detection is
  ``server_vad`` or null only; PCM rates 8-48 kHz and G.711;
* streaming events omit fields OpenAI sends: transcript deltas and the
  ``.done`` events have no ``output_index``/``content_index``,
  ``…transcript.done`` no ``transcript``, ``content_part.done`` no ``part``,
  function-call events only ``call_id`` (+ ``name``/``arguments``), speech
  events no ``audio_*_ms``, transcription no ``content_index``/``usage``;
  no ``conversation.item.done``; assistant content is typed ``audio``;
* ``response.done`` has an empty ``response.usage`` and the real usage at the
  top level; ``conversation.item.deleted`` comes with an empty ``item_id``;
  errors carry no ``type``;
* naming a transcription ``model`` switches input transcripts to the
  xAI-only ``…input_audio_transcription.updated`` event.

Server VAD is emulated on the audio itself (PCM samples above a threshold, or
non-silence G.711 bytes), so a client streaming speech then silence gets
speech_started / speech_stopped / committed / a response, as from xAI.

Every received frame is validated: against xAI's known rules above, then --
after lowering ``voice``/``turn_detection`` back to where GA keeps them --
against the openai SDK's GA client-event union.  Problems are answered with
an ``error`` event and recorded in :attr:`FakeXAI.invalid`.
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
from urllib.parse import parse_qs, urlsplit

import anyio
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from openai.types.realtime import RealtimeClientEvent as GAClientEvent

GA_CLIENT = TypeAdapter(GAClientEvent)
XAI_VOICES = {"ara", "eve", "leo", "rex", "sal"}
XAI_CLIENT_EVENTS = {
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
    "conversation.item.create", "conversation.item.delete", "response.create", "response.cancel",
}
SPEECH_THRESHOLD = 1000  # |PCM16 sample| above this is speech
SILENCE = {"audio/pcmu": {0xFF, 0x7F}, "audio/pcma": {0xD5, 0x55}}


def pcm_tone(ms: int, rate: int = 24000, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    n = rate * ms // 1000
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))


def pcm_silence(ms: int, rate: int = 24000) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


@dataclass
class XConnection:
    path: str
    headers: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [e.get("type", "?") for e in self.received]


@dataclass
class FakeXAI:
    api_key: str | None = "xai-key"
    send_session_created: bool = False
    audio_delta_indices: bool = True
    deltas: int = 3
    refuse_status: int | None = None
    port: int = 0
    connections: list[XConnection] = field(default_factory=list)
    invalid: list[tuple[Any, str]] = field(default_factory=list)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def all_received(self) -> list[dict[str, Any]]:
        return [e for c in self.connections for e in c.received]

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        def refuse(status: int, message: str) -> Response:
            body = json.dumps({"code": "Client specified an invalid argument", "error": message}).encode()
            return Response(status, "Error", Headers([("Content-Type", "application/json"),
                                                      ("Content-Length", str(len(body)))]), body)

        if self.refuse_status is not None:
            return refuse(self.refuse_status, f"fake xAI refused with {self.refuse_status}")
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return refuse(401, "Incorrect API key provided.")
        if urlsplit(request.path).path != "/v1/realtime":
            return refuse(404, "Not found")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        req = ws.request
        assert req is not None
        conn = XConnection(req.path, dict(req.headers.raw_items()))
        self.connections.append(conn)
        model = (parse_qs(urlsplit(req.path).query).get("model") or ["grok-voice-latest"])[0]
        await _XSession(self, ws, conn, model).run()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["FakeXAI"]:
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request,
                         compression=None, max_size=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            yield self


def xai_problems(ev: dict[str, Any]) -> list[str]:
    """What xAI would not accept in a client event, by its known rules."""
    problems: list[str] = []
    if ev.get("type") != "session.update":
        return problems
    s = ev.get("session")
    if not isinstance(s, dict):
        return ["session must be an object"]
    audio = s.get("audio") if isinstance(s.get("audio"), dict) else {}
    out = audio.get("output") if isinstance(audio.get("output"), dict) else {}
    inp = audio.get("input") if isinstance(audio.get("input"), dict) else {}
    if "voice" in out:
        problems.append("voice belongs at the top level of an xAI session, not in audio.output")
    if "turn_detection" in inp:
        problems.append("turn_detection belongs at the top level of an xAI session, not in audio.input")
    voice = s.get("voice")
    if voice is not None and (not isinstance(voice, str) or voice.lower() not in XAI_VOICES):
        problems.append(f"unknown xAI voice {voice!r}")
    td = s.get("turn_detection", "absent")
    if td not in (None, "absent") and (not isinstance(td, dict) or td.get("type") != "server_vad"):
        problems.append(f"turn_detection must be server_vad or null, got {td!r}")
    for side in (inp, out):
        fmt = side.get("format")
        if fmt is None:
            continue
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "audio/pcm":
            rate = fmt.get("rate", 24000)
            if not isinstance(rate, int) or not 8000 <= rate <= 48000:
                problems.append(f"unsupported PCM rate {rate!r}")
        elif kind not in ("audio/pcmu", "audio/pcma"):
            problems.append(f"unsupported audio format {fmt!r}")
    if s.get("type") == "transcription":
        problems.append("xAI has no transcription sessions")
    return problems


def as_ga(ev: dict[str, Any]) -> dict[str, Any]:
    """An xAI client event in GA form (voice/turn_detection lowered, PCM at
    24 kHz), for SDK validation."""
    if ev.get("type") != "session.update" or not isinstance(ev.get("session"), dict):
        return ev
    s = dict(ev["session"])
    audio = {k: dict(v) for k, v in (s.pop("audio", None) or {}).items() if isinstance(v, dict)}
    if "voice" in s:
        audio.setdefault("output", {})["voice"] = s.pop("voice")
    if "turn_detection" in s:
        audio.setdefault("input", {})["turn_detection"] = s.pop("turn_detection")
    for side in audio.values():  # xAI's other PCM rates (checked by xai_problems) stand in for GA's 24 kHz
        fmt = side.get("format")
        if isinstance(fmt, dict) and fmt.get("type") == "audio/pcm" and "rate" in fmt:
            side["format"] = {**fmt, "rate": 24000}
    if audio:
        s["audio"] = audio
    s.setdefault("type", "realtime")
    return {**ev, "session": s}


class _XSession:
    def __init__(self, fake: FakeXAI, ws: ServerConnection, conn: XConnection, model: str) -> None:
        self.fake = fake
        self.ws = ws
        self.conn = conn
        self.n = 0
        self.session: dict[str, Any] = {
            "id": "sess_xai_fake", "object": "realtime.session", "model": model, "voice": "eve",
            "instructions": "",
            "turn_detection": {"type": "server_vad", "threshold": 0.85, "prefix_padding_ms": 333,
                               "silence_duration_ms": 300},
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}},
                      "output": {"format": {"type": "audio/pcm", "rate": 24000}}},
            "tools": [],
        }
        self.buffer = bytearray()
        self.speaking: str | None = None  # item id of the utterance being heard
        self.silence_ms = 0.0
        self.last_text = ""
        self.last_audio = b""
        self.items: list[str] = []
        self.active: anyio.CancelScope | None = None
        self.tg: Any = None

    def nid(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_xai{self.n:05d}"

    async def send(self, event: dict[str, Any]) -> None:
        event = {"type": event["type"], "event_id": self.nid("event"), **event}
        self.conn.sent.append(event)
        await self.ws.send(json.dumps(event))

    async def ping(self) -> None:
        await self.send({"type": "ping", "timestamp": 1_700_000_000_000 + self.n})

    async def error(self, message: str, code: str, event_id: str | None = None) -> None:
        await self.send({"type": "error", "error": {"code": code, "message": message, "event_id": event_id}})

    async def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                if self.fake.send_session_created:
                    await self.send({"type": "session.created", "session": self.session})
                await self.send({"type": "conversation.created",
                                 "conversation": {"id": "conv_xai_fake", "object": "realtime.conversation"}})
                await self.ping()
                async for raw in self.ws:
                    await self.on_frame(raw)
                tg.cancel_scope.cancel()
        except ConnectionClosed:
            pass

    async def on_frame(self, raw: str | bytes) -> None:
        try:
            ev = json.loads(raw)
        except ValueError:
            self.fake.invalid.append((str(raw)[:200], "not JSON"))
            await self.error("Invalid JSON", "invalid_json")
            return
        self.conn.received.append(ev)
        problems = xai_problems(ev) if isinstance(ev, dict) else ["not an object"]
        if not problems:
            try:
                GA_CLIENT.validate_python(as_ga(ev))
            except ValidationError as exc:
                problems = [str(exc)[:500]]
        if problems:
            self.fake.invalid.append((ev, "; ".join(problems)))
            await self.error(f"Invalid event: {problems[0][:200]}", "invalid_value", ev.get("event_id"))
            return
        await self.dispatch(ev)

    # ------------------------------------------------------------------ behaviour

    def _in_format(self) -> dict[str, Any]:
        return self.session["audio"]["input"]["format"]

    def _out_format(self) -> dict[str, Any]:
        return self.session["audio"]["output"]["format"]

    def _is_speech(self, chunk: bytes) -> bool:
        fmt = self._in_format()
        if fmt["type"] in SILENCE:
            return any(b not in SILENCE[fmt["type"]] for b in chunk)
        samples = struct.unpack(f"<{len(chunk) // 2}h", chunk[: len(chunk) // 2 * 2])
        return any(abs(s) > SPEECH_THRESHOLD for s in samples)

    def _ms(self, nbytes: int) -> float:
        fmt = self._in_format()
        return nbytes / 8 if fmt["type"] in SILENCE else nbytes / (fmt.get("rate", 24000) * 2 / 1000)

    async def dispatch(self, ev: dict[str, Any]) -> None:
        t = ev["type"]
        eid = ev.get("event_id")
        if t not in XAI_CLIENT_EVENTS:
            await self.error(f"Unsupported event type: {t}", "unsupported_event", eid)
            return
        if t == "session.update":
            upd = ev["session"]
            for k, v in upd.items():
                if k == "audio":
                    for side in ("input", "output"):
                        if isinstance(v.get(side), dict):
                            self.session["audio"][side].update(v[side])
                elif k != "type":
                    self.session[k] = v
            await self.send({"type": "session.updated", "session": self.session})
        elif t == "input_audio_buffer.append":
            chunk = base64.b64decode(ev["audio"])
            self.buffer.extend(chunk)
            if self.session.get("turn_detection"):
                await self._vad(chunk)
        elif t == "input_audio_buffer.clear":
            self.buffer.clear()
            self.speaking = None
            await self.send({"type": "input_audio_buffer.cleared"})
        elif t == "input_audio_buffer.commit":
            if not self.buffer:
                await self.error("Cannot commit an empty audio buffer.", "input_audio_buffer_commit_empty", eid)
                return
            await self._commit(self.nid("item"))
        elif t == "conversation.item.create":
            item = {"id": self.nid("item"), "object": "realtime.item", "status": "completed", **ev["item"]}
            prev = self.items[-1] if self.items else None
            self.items.append(item["id"])
            for c in item.get("content") or []:
                if c.get("type") == "input_text":
                    self.last_text = c.get("text", "")
            if item.get("type") == "function_call_output":
                self.last_text = f"tool said {item.get('output')}"
            await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        elif t == "conversation.item.delete":
            if ev["item_id"] in self.items:
                self.items.remove(ev["item_id"])
            await self.send({"type": "conversation.item.deleted", "item_id": ""})  # as observed from xAI
        elif t == "response.create":
            if self.active is not None:
                await self.error("A response is already in progress.", "response_in_progress", eid)
                return
            self.active = anyio.CancelScope()
            self.tg.start_soon(self.respond, self.active)
        elif t == "response.cancel":
            if self.active is not None:
                self.active.cancel()

    async def _vad(self, chunk: bytes) -> None:
        if self._is_speech(chunk):
            self.silence_ms = 0.0
            if self.speaking is None:
                self.speaking = self.nid("item")
                await self.send({"type": "input_audio_buffer.speech_started", "item_id": self.speaking})
            return
        if self.speaking is None:
            self.buffer.clear()  # silence before speech is not kept
            return
        self.silence_ms += self._ms(len(chunk))
        if self.silence_ms >= self.session["turn_detection"].get("silence_duration_ms", 300):
            item_id, self.speaking = self.speaking, None
            await self.send({"type": "input_audio_buffer.speech_stopped", "item_id": item_id})
            await self._commit(item_id)
            if self.session["turn_detection"].get("create_response", True) and self.active is None:
                self.active = anyio.CancelScope()
                self.tg.start_soon(self.respond, self.active)

    async def _commit(self, item_id: str) -> None:
        audio = bytes(self.buffer)
        self.buffer.clear()
        prev = self.items[-1] if self.items else None
        self.items.append(item_id)
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": prev})
        transcript = f"audio of {round(self._ms(len(audio)))} ms"
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
                "content": [{"type": "input_audio", "transcript": transcript}]}
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": item})
        self.last_audio = audio
        self.last_text = transcript
        tr = self.session["audio"]["input"].get("transcription")
        if isinstance(tr, dict) and "model" in tr:
            await self.send({"type": "conversation.item.input_audio_transcription.updated", "item_id": item_id,
                             "transcript": transcript})
        else:
            await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                             "transcript": transcript})

    def _tool_for(self, text: str) -> dict[str, Any] | None:
        for tool in self.session.get("tools") or []:
            if tool.get("type") == "function" and tool.get("name") and tool["name"] in text:
                return tool
        return None

    def _output_audio(self) -> bytes:
        if self.last_audio and self._in_format() == self._out_format():
            return self.last_audio
        fmt = self._out_format()
        if fmt["type"] in SILENCE:
            return bytes([0x55 if fmt["type"] == "audio/pcma" else 0x7F]) * 800
        return pcm_tone(100, rate=fmt.get("rate", 24000))

    async def respond(self, scope: anyio.CancelScope) -> None:
        rid = self.nid("resp")
        base = {"id": rid, "object": "realtime.response", "status": "in_progress", "output": [], "usage": None}
        await self.ping()
        await self.send({"type": "response.created", "response": base})
        output: list[dict[str, Any]] = []
        with scope:
            tool = self._tool_for(self.last_text)
            if tool is not None:
                output.append(await self._function_call(rid, tool))
            else:
                output.append(await self._message(rid))
        status = "cancelled" if scope.cancel_called else "completed"
        self.active = None
        await self.send({"type": "response.done",
                         "response": {**base, "status": status, "output": output, "usage": {}},
                         "usage": {"total_tokens": 42, "input_tokens": 12, "output_tokens": 30}})

    async def _function_call(self, rid: str, tool: dict[str, Any]) -> dict[str, Any]:
        item_id, call_id = self.nid("item"), self.nid("call")
        args = json.dumps({"city": "Paris"})
        item = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
                "name": tool["name"], "call_id": call_id, "arguments": ""}
        await self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": item})
        await self.send({"type": "response.function_call_arguments.delta", "call_id": call_id, "delta": args})
        await self.send({"type": "response.function_call_arguments.done", "call_id": call_id, "name": tool["name"],
                         "arguments": args})
        done = {**item, "status": "completed", "arguments": args}
        await self.send({"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": done})
        self.items.append(item_id)
        return done

    async def _message(self, rid: str) -> dict[str, Any]:
        item_id = self.nid("item")
        text = f"You said: {self.last_text}" if self.last_text else "Hello from Grok."
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}
        ids = {"response_id": rid, "item_id": item_id}
        idx = {"output_index": 0, "content_index": 0}
        await self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0, "item": item})
        await self.send({"type": "conversation.item.added", "item": item})
        await self.send({"type": "response.content_part.added", **ids, **idx,
                         "part": {"type": "audio", "transcript": ""}})
        n = self.fake.deltas
        chunks = [text[i * len(text) // n:(i + 1) * len(text) // n] for i in range(n)]
        audio = self._output_audio()
        step = max(2, (len(audio) // n) & ~1)
        for i, chunk in enumerate(chunks):
            await self.send({"type": "response.output_audio_transcript.delta", **ids, "delta": chunk})
            piece = audio[i * step:(i + 1) * step if i < n - 1 else len(audio)]
            delta = {"type": "response.output_audio.delta", **ids, "delta": base64.b64encode(piece).decode()}
            if self.fake.audio_delta_indices:
                delta.update(idx)
            await self.send(delta)
            if i == 0:
                await self.ping()
        await self.send({"type": "response.output_audio.done", **ids})
        await self.send({"type": "response.output_audio_transcript.done", **ids})
        await self.send({"type": "response.content_part.done", **ids, **idx})
        done = {**item, "status": "completed", "content": [{"type": "audio", "transcript": text}]}
        await self.send({"type": "response.output_item.done", "response_id": rid, "output_index": 0, "item": done})
        self.items.append(item_id)
        return done
