"""Fixtures for the rt-bedrock tests: a fake clock, translator factories,
helpers that split actions, and the fake Nova Sonic server."""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import TypeAdapter

from openai.types.realtime import RealtimeServerEvent
from rt_core import Close, Event, IdFactory, Schedule, ToClient, ToUpstream

from rt_bedrock.control import Frame
from rt_bedrock.provider import BedrockSettings
from rt_bedrock.translator import NovaTranslator

GA_SERVER = TypeAdapter(RealtimeServerEvent)

NOVA2 = "amazon.nova-2-sonic-v1:0"
NOVA1 = "amazon.nova-sonic-v1:0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_settings(**kw: Any) -> BedrockSettings:
    base: dict[str, Any] = {"model": f"bedrock/{NOVA2}", "aws_access_key_id": "AKIDTEST",
                            "aws_secret_access_key": "test-secret", "aws_region_name": "us-east-1"}
    base.update(kw)
    return BedrockSettings.model_validate(base)


def make_translator(model: str = NOVA2, clock: FakeClock | None = None, **kw: Any) -> NovaTranslator:
    return NovaTranslator(make_settings(model=f"bedrock/{model}", **kw), model, model_name="nova",
                          ids=IdFactory(seed="t"), clock=clock or FakeClock())


def client_events(actions: list[Any]) -> list[dict[str, Any]]:
    """The GA events among ``actions``, each validated against the SDK union."""
    out = []
    for a in actions:
        if isinstance(a, ToClient):
            d = a.event.data if isinstance(a.event, Event) else a.event
            GA_SERVER.validate_python(d)
            out.append(d)
    return out


def nova_events(actions: list[Any]) -> list[dict[str, Any]]:
    """Nova input events among ``actions`` (plain frames only)."""
    out = []
    for a in actions:
        if isinstance(a, ToUpstream) and isinstance(a.frame, Frame):
            out.append(json.loads(a.frame.text))
    return out


def nova_names(actions: list[Any]) -> list[str]:
    return [next(iter(e["event"])) for e in nova_events(actions)]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def controls(actions: list[Any], kind: type) -> list[Any]:
    return [a.frame for a in actions if isinstance(a, ToUpstream) and isinstance(a.frame, kind)]


def schedules(actions: list[Any]) -> list[Schedule]:
    return [a for a in actions if isinstance(a, Schedule)]


def closes(actions: list[Any]) -> list[Close]:
    return [a for a in actions if isinstance(a, Close)]


def ev(type_: str, **fields: Any) -> Event:
    return Event.from_data({"type": type_, **fields})


def tone_b64(ms: int, rate: int = 24000, amp: int = 8000) -> str:
    n = ms * rate // 1000
    return base64.b64encode(b"".join(
        struct.pack("<h", int(amp * math.sin(2 * math.pi * 300 * i / rate))) for i in range(n))).decode()


def silence_b64(ms: int, rate: int = 24000) -> str:
    return base64.b64encode(bytes(ms * rate // 1000 * 2)).decode()


class NovaOut:
    """Builds Nova output events (bytes) the way the service sends them."""

    def __init__(self) -> None:
        self.n = 0

    def _e(self, name: str, body: dict[str, Any]) -> bytes:
        return json.dumps({"event": {name: {"sessionId": "s", "promptName": "p", "completionId": "c", **body}}}).encode()

    def start(self, ctype: str, role: str, stage: str | None = None) -> tuple[str, bytes]:
        self.n += 1
        cid = f"c{self.n}"
        body: dict[str, Any] = {"contentId": cid, "type": ctype, "role": role}
        if stage:
            body["additionalModelFields"] = json.dumps({"generationStage": stage})
        return cid, self._e("contentStart", body)

    def text(self, cid: str, text: str, role: str = "ASSISTANT") -> bytes:
        return self._e("textOutput", {"contentId": cid, "content": text, "role": role})

    def audio(self, cid: str, b64: str) -> bytes:
        return self._e("audioOutput", {"contentId": cid, "content": b64})

    def tool(self, cid: str, name: str, tool_id: str, args: str) -> bytes:
        return self._e("toolUse", {"contentId": cid, "toolName": name, "toolUseId": tool_id, "content": args})

    def end(self, cid: str, stop: str, ctype: str = "TEXT") -> bytes:
        return self._e("contentEnd", {"contentId": cid, "stopReason": stop, "type": ctype})

    def usage(self, isp: int, itx: int, osp: int, otx: int) -> bytes:
        return self._e("usageEvent", {"details": {"total": {"input": {"speechTokens": isp, "textTokens": itx},
                                                            "output": {"speechTokens": osp, "textTokens": otx}}},
                                      "totalInputTokens": isp + itx, "totalOutputTokens": osp + otx})

    def user_turn(self, text: str) -> list[bytes]:
        cid, s = self.start("TEXT", "USER", "FINAL")
        return [s, self.text(cid, text, "USER"), self.end(cid, "PARTIAL_TURN")]

    def sentence(self, text: str, audio_b64: str, last: bool = True, final: str | None = None) -> list[bytes]:
        stop = "END_TURN" if last else "PARTIAL_TURN"
        c1, s1 = self.start("TEXT", "ASSISTANT", "SPECULATIVE")
        c2, s2 = self.start("AUDIO", "ASSISTANT")
        c3, s3 = self.start("TEXT", "ASSISTANT", "FINAL")
        return [s1, self.text(c1, text), self.end(c1, "PARTIAL_TURN"),
                s2, self.audio(c2, audio_b64), self.end(c2, stop, "AUDIO"),
                s3, self.text(c3, final if final is not None else text), self.end(c3, stop)]


def feed(tr: NovaTranslator, frames: list[bytes]) -> list[Any]:
    out: list[Any] = []
    for f in frames:
        out += tr.outbound(f)
    return out


@pytest.fixture
async def fake_nova() -> AsyncIterator[Any]:
    from tests.fakes.nova_sonic import running_fake_nova

    async with running_fake_nova() as fake:
        yield fake
