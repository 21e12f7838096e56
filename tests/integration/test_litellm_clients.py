"""Client code copied from LiteLLM's realtime docs works through rt unchanged."""

from __future__ import annotations

import json

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import b64, openai_config, pcm16_tone, validate_server_event

pytestmark = pytest.mark.anyio


async def recv_json(ws, dialect: str = "ga", timeout: float = 5.0) -> dict:
    with anyio.fail_after(timeout):
        data = json.loads(await ws.recv())
    validate_server_event(data, dialect)
    return data


async def until(ws, type_: str, dialect: str = "ga") -> list[dict]:
    out = []
    while True:
        ev = await recv_json(ws, dialect)
        out.append(ev)
        if ev["type"] == type_:
            return out


@pytest.fixture
async def env():
    fake = FakeOpenAI()
    async with fake.running():
        async with running_gateway(openai_config(fake.api_base)) as gw:
            gw.fake = fake
            yield gw


async def test_input_audio_buffer_end_manual_mode_commits_and_replies_once(env):
    async with ws_connect(env.realtime_url("gpt-realtime"), additional_headers={"api-key": "whatever"}) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}}))
        await until(ws, "session.updated")
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64(pcm16_tone(100))}))
        await ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        events = await until(ws, "response.done")
        assert not any(e["type"] == "error" for e in events)
        assert [e["type"] for e in events].count("response.created") == 1
    sent = env.fake.connections[0].types()
    assert "input_audio_buffer.end" not in sent
    assert sent.count("input_audio_buffer.commit") == 1 and sent.count("response.create") == 1
    assert not env.fake.invalid


async def test_input_audio_buffer_end_under_server_vad_replies_once(env):
    async with ws_connect(env.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}))
        await until(ws, "session.updated")
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64(pcm16_tone(100))}))
        await ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        events = await until(ws, "response.done")
        assert not any(e["type"] == "error" for e in events)
        # a second end with nothing new is a no-op: no error, no second reply
        await ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        after = await until(ws, "input_audio_buffer.cleared")
        assert [e["type"] for e in after] == ["input_audio_buffer.cleared"]
    sent = env.fake.connections[0].types()
    assert sent.count("response.create") == 1


async def test_end_after_vad_already_replied_sends_nothing(env):
    """When the upstream's own turn detection committed and replied, end is a no-op."""
    async with ws_connect(env.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64(pcm16_tone(100))}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))  # stands in for the VAD's commit
        await until(ws, "input_audio_buffer.committed")
        await ws.send(json.dumps({"type": "response.create"}))
        await until(ws, "response.done")
        await ws.send(json.dumps({"type": "input_audio_buffer.end"}))
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        after = await until(ws, "input_audio_buffer.cleared")
        assert [e["type"] for e in after] == ["input_audio_buffer.cleared"]
    assert env.fake.connections[0].types().count("response.create") == 1


async def test_unknown_session_fields_are_dropped_not_rejected(env, caplog):
    async with ws_connect(env.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "instructions": "hi", "conversation_id": "c1", "language": "en",
            "transcription_mode": "fast"}}))
        ev = await recv_json(ws)
        assert ev["type"] == "session.updated"
    sent = [e for e in env.fake.all_received() if e["type"] == "session.update"][0]["session"]
    assert sent == {"type": "realtime", "instructions": "hi"}
    assert "conversation_id" in caplog.text and "dropped" in caplog.text
    assert not env.fake.invalid


async def test_ga_client_sending_beta_style_session_fields_is_understood(env):
    async with ws_connect(env.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "session.update", "session": {
            "modalities": ["text"], "voice": "alloy", "input_audio_format": "g711_ulaw", "turn_detection": None}}))
        assert (await recv_json(ws))["type"] == "session.updated"
    sent = [e for e in env.fake.all_received() if e["type"] == "session.update"][0]["session"]
    assert sent["output_modalities"] == ["text"]
    assert sent["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert sent["audio"]["input"]["turn_detection"] is None
    assert sent["audio"]["output"]["voice"] == "alloy"
    assert not env.fake.invalid


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_bare_response_create_first_gets_a_response(env, dialect):
    headers = {"OpenAI-Beta": "realtime=v1"} if dialect == "beta" else {}
    async with ws_connect(env.realtime_url("gpt-realtime"), additional_headers=headers) as ws:
        await recv_json(ws, dialect)
        await ws.send(json.dumps({"type": "response.create"}))
        events = await until(ws, "response.done", dialect)
        assert events[-1]["response"]["status"] == "completed"


async def test_transcription_events_never_trigger_extra_response_create(env):
    """Regression: a known proxy sends a second response.create after every input transcription."""
    env.fake.transcription_events = 3
    async with ws_connect(env.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64(pcm16_tone(60))}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await ws.send(json.dumps({"type": "response.create"}))
        events = await until(ws, "response.done")
        assert [e["type"] for e in events].count("conversation.item.input_audio_transcription.completed") == 3
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        await until(ws, "input_audio_buffer.cleared")
    assert env.fake.connections[0].types().count("response.create") == 1
