"""Drive a GeminiTranslator directly (no sockets) and check both sides' wire shapes.

Every event the translator sends to the client is validated against the openai
SDK's GA server-event union; every frame it sends to Gemini is validated with
the fake server's google-genai validation.  A test therefore fails on a
malformed event even when it does not look at that event.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from google.genai import types
from pydantic import TypeAdapter

from openai.types.realtime import RealtimeServerEvent
from rt_core import Close, Event, IdFactory, Schedule, TimerFired, ToClient, ToUpstream, UpstreamLost, UpstreamOpened
from rt_gemini.session_config import SetupOptions
from rt_gemini.translator import GeminiTranslator, TranslatorOptions
from rt_gemini.upstream import ConnectionDropped, Reconnect, Reconnected, ReconnectFailed
from tests.fakes.gemini_live import tone24k, validate_client_message

GA_SERVER = TypeAdapter(RealtimeServerEvent)

MODEL = "models/gemini-live-2.5-flash-preview"


def validate_server_message(msg: dict[str, Any]) -> None:
    """Check a scripted Gemini message against google-genai's LiveServerMessage
    (Vertex usage names aside, which that type lacks: protocols.md 2.5)."""
    usage = msg.get("usageMetadata")
    if isinstance(usage, dict) and "candidatesTokenCount" in usage:
        msg = {k: v for k, v in msg.items() if k != "usageMetadata"}
    if msg:
        types.LiveServerMessage.model_validate_json(json.dumps(msg))


def make_translator(*, platform: str = "aistudio", model: str = MODEL, **opts: Any) -> GeminiTranslator:
    setup_keys = {"language", "temperature", "context_window_compression"}
    setup = SetupOptions(model=model, platform=platform,  # type: ignore[arg-type]
                         **{k: opts.pop(k) for k in list(opts) if k in setup_keys})
    return GeminiTranslator(TranslatorOptions(setup=setup, **opts), model="gemini-live", ids=IdFactory(seed="t"))


def event_dict(ev: Any) -> dict[str, Any]:
    if isinstance(ev, Event):
        return json.loads(ev.text)
    return json.loads(json.dumps(ev))


@dataclass
class Step:
    """What one input produced."""

    events: list[dict[str, Any]] = field(default_factory=list)
    upstream: list[Any] = field(default_factory=list)  # parsed dicts, or control objects
    schedules: list[Schedule] = field(default_factory=list)
    closes: list[Close] = field(default_factory=list)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    def one(self, type_: str) -> dict[str, Any]:
        found = self.of(type_)
        assert len(found) == 1, f"expected one {type_}, got {self.types()}"
        return found[0]

    def frames(self, key: str | None = None) -> list[dict[str, Any]]:
        out = [f for f in self.upstream if isinstance(f, dict)]
        return [f for f in out if key is None or key in f]


class Driver:
    """Feeds a translator and records everything it produced."""

    def __init__(self, translator: GeminiTranslator | None = None, *, platform: str = "aistudio", **opts: Any) -> None:
        self.platform = platform
        self.t = translator or make_translator(platform=platform, **opts)
        self.log: list[Step] = []

    def _run(self, actions: list[Any] | None) -> Step:
        step = Step()
        for a in actions or []:
            if isinstance(a, ToClient):
                ev = event_dict(a.event)
                GA_SERVER.validate_python(ev)
                step.events.append(ev)
            elif isinstance(a, ToUpstream):
                frame = a.frame
                if isinstance(frame, Reconnect):
                    validate_client_message(frame.setup, self.platform)
                    step.upstream.append(frame)
                else:
                    step.upstream.append(validate_client_message(frame, self.platform))
            elif isinstance(a, Schedule):
                step.schedules.append(a)
            elif isinstance(a, Close):
                step.closes.append(a)
            else:  # pragma: no cover
                raise AssertionError(f"unexpected action {a!r}")
        self.log.append(step)
        return step

    # ------------------------------------------------------------------ inputs

    def client(self, data: dict[str, Any]) -> Step:
        return self._run(self.t.inbound(Event.from_data(data)))

    def gemini(self, msg: dict[str, Any], *, validate: bool = True) -> Step:
        if validate:
            validate_server_message(msg)
        return self._run(self.t.outbound(json.dumps(msg).encode()))

    def timer(self, name: str) -> Step:
        return self._run(self.t.inbound(TimerFired(name)))

    def opened(self) -> Step:
        return self._run(self.t.outbound(UpstreamOpened()))

    def dropped(self, code: int, reason: str = "") -> Step:
        return self._run(self.t.outbound(ConnectionDropped(code, reason)))

    def lost(self, code: int, reason: str = "") -> Step:
        return self._run(self.t.outbound(UpstreamLost(code, reason)))

    def reconnected(self) -> Step:
        return self._run(self.t.outbound(Reconnected()))

    def reconnect_failed(self, message: str) -> Step:
        return self._run(self.t.outbound(ReconnectFailed(message)))

    # ------------------------------------------------------------------ conveniences

    def start(self, session: dict[str, Any] | None = None) -> Step:
        """UpstreamOpened, optional session.update, setupComplete; returns the update's step."""
        self.opened()
        step = self.client({"type": "session.update", "session": {"type": "realtime", **(session or {})}}) \
            if session is not None else self.timer("gemini.setup")
        self.gemini({"setupComplete": {}})
        return step

    def streaming_text_response(self, prompt: str = "hi", first_words: str = "Hel") -> None:
        """A text session holding resumption handle ``h-1`` whose reply to
        ``prompt`` has started streaming: where reconnects must wait (or not)."""
        self.start({"output_modalities": ["text"]})
        self.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
        self.client(user_text(prompt))
        self.client({"type": "response.create"})
        self.gemini(gemini_text(first_words))

    def setup(self) -> dict[str, Any]:
        """The last setup sent (initial or in a Reconnect)."""
        for step in reversed(self.log):
            for f in reversed(step.upstream):
                if isinstance(f, Reconnect):
                    return json.loads(f.setup)["setup"]
                if isinstance(f, dict) and "setup" in f:
                    return f["setup"]
        raise AssertionError("no setup sent")

    def all_events(self) -> list[dict[str, Any]]:
        return [e for s in self.log for e in s.events]

    def all_upstream(self) -> list[Any]:
        return [f for s in self.log for f in s.upstream]


# ---------------------------------------------------------------------- audio helpers


def pcm16(ms: int, rate: int = 24000, hz: float = 440.0, amp: int = 8000) -> bytes:
    n = rate * ms // 1000
    return b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def append(ms: int = 100, **kw: Any) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": b64(pcm16(ms, **kw))}


def gemini_audio(ms: int = 40) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": b64(tone24k(ms))}}]}}}


def gemini_text(text: str) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [{"text": text}]}}}


def transcript(text: str) -> dict[str, Any]:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def input_transcript(text: str, finished: bool | None = None) -> dict[str, Any]:
    it: dict[str, Any] = {"text": text}
    if finished is not None:
        it["finished"] = finished
    return {"serverContent": {"inputTranscription": it}}


TURN_COMPLETE = {"serverContent": {"turnComplete": True},
                 "usageMetadata": {"promptTokenCount": 20, "responseTokenCount": 8, "totalTokenCount": 28,
                                   "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12},
                                                           {"modality": "AUDIO", "tokenCount": 8}],
                                   "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 8}]}}


def user_text(text: str, **kw: Any) -> dict[str, Any]:
    return {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}], **kw}}


def digest(b64text: str) -> str:
    raw = base64.b64decode(b64text)
    return f"<audio {len(raw)} bytes sha1:{hashlib.sha1(raw).hexdigest()[:10]}>"
