"""The official openai SDK (GA and beta clients) through rt to a fake OpenAI
upstream speaking GA or beta: text, audio, tools and cancel.  Every event the
client receives is validated against the SDK union of its own dialect, and
the fake validates every frame it receives against the SDK client union of
the upstream's dialect."""

from __future__ import annotations

import base64
import json

import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, openai_config, pcm16_tone

pytestmark = pytest.mark.anyio

COMBOS = [("ga", "GA"), ("ga", "beta"), ("beta", "GA"), ("beta", "beta")]


def connect(gw, client_dialect: str, model: str = "gpt-realtime"):
    client = AsyncOpenAI(api_key="anything", base_url=gw.http_url, websocket_base_url=gw.ws_url)
    if client_dialect == "beta":
        return client.beta.realtime.connect(model=model)
    return client.realtime.connect(model=model)


def text_session(client_dialect: str) -> dict:
    if client_dialect == "beta":
        return {"modalities": ["text"], "instructions": "be brief"}
    return {"type": "realtime", "output_modalities": ["text"], "instructions": "be brief"}


def user_text(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def names(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


@pytest.fixture
async def fake():
    f = FakeOpenAI()
    async with f.running():
        yield f


@pytest.mark.parametrize("client_dialect,upstream", COMBOS)
async def test_text_turn(fake, client_dialect, upstream):
    async with running_gateway(openai_config(fake.api_base, protocol=upstream)) as gw:
        async with connect(gw, client_dialect) as conn:
            first = await next_event(conn, client_dialect)
            assert first["type"] == "session.created"
            await conn.session.update(session=text_session(client_dialect))
            updated = await next_event(conn, client_dialect)
            assert updated["type"] == "session.updated"
            await conn.conversation.item.create(item=user_text("hello rt"))
            await conn.response.create()
            events = await collect_until(conn, client_dialect)
    delta = "response.text.delta" if client_dialect == "beta" else "response.output_text.delta"
    text = "".join(e["delta"] for e in events if e["type"] == delta)
    assert text == "You said: hello rt"
    done = events[-1]
    assert done["response"]["status"] == "completed"
    assert done["response"]["usage"]["total_tokens"] == 30
    assert not fake.invalid
    assert fake.connections[0].beta == (upstream == "beta")
    # exactly one response.create reached the upstream
    assert fake.connections[0].types().count("response.create") == 1


@pytest.mark.parametrize("client_dialect,upstream", COMBOS)
async def test_audio_turn_pcm16_round_trip(fake, client_dialect, upstream):
    audio = pcm16_tone(200)
    async with running_gateway(openai_config(fake.api_base, protocol=upstream)) as gw:
        async with connect(gw, client_dialect) as conn:
            await next_event(conn, client_dialect)
            if client_dialect == "beta":
                await conn.session.update(session={"turn_detection": None, "input_audio_format": "pcm16",
                                                   "output_audio_format": "pcm16", "modalities": ["audio", "text"]})
            else:
                await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"], "audio": {
                    "input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None},
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}}}})
            await next_event(conn, client_dialect)
            for i in range(0, len(audio), 960):
                await conn.input_audio_buffer.append(audio=b64(audio[i:i + 960]))
            await conn.input_audio_buffer.commit()
            await conn.response.create()
            events = await collect_until(conn, client_dialect)
    delta = "response.audio.delta" if client_dialect == "beta" else "response.output_audio.delta"
    tdelta = "response.audio_transcript.delta" if client_dialect == "beta" else "response.output_audio_transcript.delta"
    got = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == delta)
    assert got == audio  # byte for byte through rt, both ways
    assert "input_audio_buffer.committed" in names(events)
    assert any(e["type"] == tdelta for e in events)
    appended = b"".join(base64.b64decode(e["audio"]) for e in fake.all_received() if e["type"] == "input_audio_buffer.append")
    assert appended == audio
    assert not fake.invalid


@pytest.mark.parametrize("client_dialect,upstream", COMBOS)
async def test_tool_call_round_trip(fake, client_dialect, upstream):
    chat_shaped = client_dialect == "ga"  # LiteLLM docs' Chat Completions shape must work too
    tool = ({"type": "function", "function": {"name": "get_weather", "description": "weather",
                                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
            if chat_shaped else
            {"type": "function", "name": "get_weather", "description": "weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}})
    async with running_gateway(openai_config(fake.api_base, protocol=upstream)) as gw:
        async with connect(gw, client_dialect) as conn:
            await next_event(conn, client_dialect)
            await conn.send({"type": "session.update", "session": {**text_session(client_dialect), "tools": [tool]}})
            await next_event(conn, client_dialect)
            await conn.conversation.item.create(item=user_text("please use get_weather for Paris"))
            await conn.response.create()
            events = await collect_until(conn, client_dialect)
            args_done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            assert len(args_done) == 1
            call_id = args_done[0]["call_id"]
            assert json.loads(args_done[0]["arguments"]) == {"city": "Paris"}
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call_id, "output": "sunny"})
            await conn.response.create()
            events = await collect_until(conn, client_dialect)
    delta = "response.text.delta" if client_dialect == "beta" else "response.output_text.delta"
    assert "".join(e["delta"] for e in events if e["type"] == delta) == "You said: tool said sunny"
    sent_tools = [e["session"]["tools"] for e in fake.all_received() if e["type"] == "session.update"]
    assert sent_tools[0][0]["name"] == "get_weather"  # normalised to the realtime shape
    assert "function" not in sent_tools[0][0]
    assert not fake.invalid


@pytest.mark.parametrize("client_dialect", ["ga", "beta"])
async def test_response_cancel(fake, client_dialect):
    fake.delta_delay = 0.2
    fake.deltas = 10
    async with running_gateway(openai_config(fake.api_base)) as gw:
        async with connect(gw, client_dialect) as conn:
            await next_event(conn, client_dialect)
            await conn.conversation.item.create(item=user_text("talk for a long time"))
            await conn.response.create()
            events = []
            while True:
                ev = await next_event(conn, client_dialect)
                events.append(ev)
                if ev["type"] == "response.created":
                    await conn.response.cancel()
                if ev["type"] == "response.done":
                    break
    assert events[-1]["response"]["status"] == "cancelled"
    assert not fake.invalid


async def test_hot_frames_are_forwarded_byte_for_byte(fake):
    """No parse/re-serialise on the passthrough path: odd spacing and key
    order survive in both directions."""
    from websockets.asyncio.client import connect as ws_connect

    audio = b64(pcm16_tone(20))
    odd = '{"type":"input_audio_buffer.append",   "event_id" : "evt_odd",  "audio":"%s"}' % audio
    async with running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await ws.recv()
            await ws.send(odd)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await ws.send(json.dumps({"type": "response.create"}))
            got = []
            while True:
                text = await ws.recv()
                got.append(text)
                if '"response.done"' in text:
                    break
    assert odd in fake.connections[0].raw
    delta = next(t for t in got if t.startswith('{"type": "response.output_audio.delta"'))
    # the fake writes json.dumps' default ", " / ": " separators; rt's own encoder never does
    assert '", "event_id": "' in delta
