"""End to end: the official openai SDK (GA and beta) → rt → a fake xAI server.

Every event a client receives is validated against the SDK's server-event
union of its dialect (unknown top-level keys fail too); the fake validates
everything rt sends against xAI's rules and the GA client union.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect

import rt_xai.plugin
from tests.azure.support import gateway, recv_until, recv_valid, types, validate
from tests.fakes.xai_realtime import FakeXAI, pcm_silence, pcm_tone

pytestmark = pytest.mark.anyio

WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def running_gateway(cfg: dict[str, Any]) -> Any:
    return gateway(cfg, {"xai": rt_xai.plugin})


def config(fake: FakeXAI, **extra: Any) -> dict[str, Any]:
    params = {"model": "xai/grok-voice-latest", "api_key": "xai-key", "api_base": fake.api_base, **extra}
    return {"model_list": [{"model_name": "grok", "litellm_params": params}]}


def session_updates(fake: FakeXAI) -> list[dict[str, Any]]:
    return [e["session"] for e in fake.all_received() if e["type"] == "session.update"]


def joined(events: list[dict[str, Any]], kind: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == kind)


def check_response_events(events: list[dict[str, Any]]) -> None:
    """What xAI leaves out, rt must have put back."""
    assert "ping" not in types(events)
    done = events[-1]
    assert done["type"] == "response.done"
    assert done["response"]["usage"] == {"total_tokens": 42, "input_tokens": 12, "output_tokens": 30}
    added = {e["item"]["id"] for e in events if e["type"] == "conversation.item.added"}
    finished = {e["item"]["id"] for e in events if e["type"] == "conversation.item.done"}
    assert added <= finished


async def text_turn(conn: Any, text: str = "hello grok") -> list[dict[str, Any]]:
    await conn.conversation.item.create(item={"type": "message", "role": "user",
                                              "content": [{"type": "input_text", "text": text}]})
    await conn.response.create()
    return await recv_until(conn, "ga", "response.done")


async def test_ga_client_text_turn() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            first = await recv_valid(conn, "ga")
            assert first["type"] == "session.created"
            assert first["session"]["model"] == "grok-voice-latest"
            second = await recv_valid(conn, "ga")
            assert second["type"] == "conversation.created"
            await conn.session.update(session={"type": "realtime", "instructions": "Be brief.",
                                               "audio": {"output": {"voice": "alloy"}}})
            updated = (await recv_until(conn, "ga", "session.updated"))[-1]
            assert updated["session"]["audio"]["output"]["voice"] == "sal"
            events = await text_turn(conn)
    check_response_events(events)
    transcript = joined(events, "response.output_audio_transcript.delta")
    assert transcript == "You said: hello grok"
    (tdone,) = [e for e in events if e["type"] == "response.output_audio_transcript.done"]
    assert tdone["transcript"] == transcript
    (pdone,) = [e for e in events if e["type"] == "response.content_part.done"]
    assert pdone["part"] == {"type": "audio", "transcript": transcript}
    (item_done,) = [e for e in events if e["type"] == "response.output_item.done"]
    assert item_done["item"]["content"][0]["type"] == "output_audio"
    assert session_updates(fake) == [{"type": "realtime", "instructions": "Be brief.", "voice": "sal"}]
    assert not fake.invalid


async def test_beta_client_text_turn() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url, websocket_base_url=gw.ws_url)
        async with client.beta.realtime.connect(model="grok") as conn:
            first = await recv_valid(conn, "beta")
            assert first["type"] == "session.created"
            assert first["session"]["voice"] == "eve"
            await conn.session.update(session={"voice": "shimmer", "turn_detection": {"type": "server_vad"}})
            updated = (await recv_until(conn, "beta", "session.updated"))[-1]
            assert updated["session"]["voice"] == "eve"
            assert updated["session"]["turn_detection"]["type"] == "server_vad"
            await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": "hi"}]})
            await conn.response.create()
            events = await recv_until(conn, "beta", "response.done")
    assert joined(events, "response.audio_transcript.delta") == "You said: hi"
    assert "response.audio.delta" in types(events)
    assert events[-1]["response"]["usage"]["total_tokens"] == 42
    assert session_updates(fake)[0]["voice"] == "eve"
    assert not fake.invalid


async def test_ga_client_voice_turn_with_server_vad() -> None:
    """Speech then silence: xAI's VAD events arrive complete, then the reply."""
    fake = FakeXAI()
    speech, silence = pcm_tone(300), pcm_silence(400)
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.session.update(session={"type": "realtime", "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000},
                          "transcription": {"model": "whisper-1", "language": "en"},
                          "turn_detection": {"type": "server_vad", "silence_duration_ms": 200}},
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}}})
            await recv_until(conn, "ga", "session.updated")
            audio = pcm_silence(100) + speech + silence
            for i in range(0, len(audio), 960):  # 20 ms chunks, streamed about as fast as a microphone
                await conn.input_audio_buffer.append(audio=base64.b64encode(audio[i:i + 960]).decode())
                await anyio.sleep(0.02)
            events = await recv_until(conn, "ga", "response.done")
    kinds = types(events)
    started = events[kinds.index("input_audio_buffer.speech_started")]
    stopped = events[kinds.index("input_audio_buffer.speech_stopped")]
    # Estimated from the audio rt had forwarded when the event arrived (speech begins at 100 ms,
    # lasts 300 ms; the fake stops after 200 ms of silence): bounds allow for scheduling delays.
    assert 100 <= started["audio_start_ms"] <= 400
    assert started["audio_start_ms"] + 300 <= stopped["audio_end_ms"] <= 800
    (tr,) = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert tr["content_index"] == 0
    assert tr["usage"]["type"] == "duration" and 0.4 <= tr["usage"]["seconds"] <= 0.8
    assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
    user_item = next(e for e in events if e["type"] == "conversation.item.added")
    assert user_item["item"]["role"] == "user"
    assert any(e["type"] == "conversation.item.done" and e["item"]["id"] == user_item["item"]["id"] for e in events)
    reply = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert reply and len(reply) % 2 == 0
    check_response_events(events)
    (upd,) = session_updates(fake)
    assert upd["voice"] == "eve"
    assert upd["turn_detection"] == {"type": "server_vad", "silence_duration_ms": 200}
    assert upd["audio"]["input"]["transcription"] == {"language_hint": "en"}  # no model: no xAI-only events
    assert not fake.invalid


async def test_function_call_events_are_completed() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.session.update(session={"type": "realtime", "tools": [WEATHER_TOOL]})
            await recv_until(conn, "ga", "session.updated")
            events = await text_turn(conn, "please call get_weather")
            added = next(e for e in events if e["type"] == "response.output_item.added")
            (delta,) = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
            (done,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            for ev in (delta, done):
                assert ev["item_id"] == added["item"]["id"]
                assert ev["response_id"] == added["response_id"]
                assert ev["output_index"] == 0
            assert done["name"] == "get_weather" and json.loads(done["arguments"]) == {"city": "Paris"}
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": done["call_id"],
                                                      "output": "sunny"})
            events = await text_turn(conn, "thanks")
    assert "You said: thanks" == joined(events, "response.output_audio_transcript.delta")
    assert not fake.invalid


async def test_semantic_vad_is_rejected_and_the_session_goes_on() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.send({"type": "session.update", "event_id": "evt_sem", "session": {
                "type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}}}})
            err = await recv_valid(conn, "ga")
            assert err["type"] == "error"
            assert err["error"]["param"] == "session.audio.input.turn_detection.type"
            assert err["error"]["event_id"] == "evt_sem"
            assert "semantic_vad" in err["error"]["message"]
            events = await text_turn(conn)
    assert events[-1]["response"]["status"] == "completed"
    assert session_updates(fake) == []
    assert not fake.invalid


async def test_semantic_vad_mapped_to_server_vad_when_configured() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake, semantic_vad="server_vad")) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.session.update(session={"type": "realtime", "audio": {"input": {
                "turn_detection": {"type": "semantic_vad", "eagerness": "auto", "create_response": True}}}})
            updated = (await recv_until(conn, "ga", "session.updated"))[-1]
    assert updated["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session_updates(fake)[0]["turn_detection"] == {"type": "server_vad", "create_response": True}
    assert not fake.invalid


async def test_g711_passes_through_without_resampling() -> None:
    fake = FakeXAI()
    ulaw_speech = bytes([0x10, 0x90]) * 800  # loud µ-law samples, 200 ms
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            g711 = {"type": "audio/pcmu"}
            await conn.session.update(session={"type": "realtime", "audio": {
                "input": {"format": g711, "turn_detection": None}, "output": {"format": g711}}})
            updated = (await recv_until(conn, "ga", "session.updated"))[-1]
            assert updated["session"]["audio"]["input"]["turn_detection"] is None
            await conn.input_audio_buffer.append(audio=base64.b64encode(ulaw_speech).decode())
            await conn.input_audio_buffer.commit()
            await recv_until(conn, "ga", "input_audio_buffer.committed")
            await conn.response.create()
            events = await recv_until(conn, "ga", "response.done")
    reply = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert reply == ulaw_speech  # the fake echoes same-format audio: bytes came through untouched both ways
    (upd,) = session_updates(fake)
    assert upd["audio"]["input"]["format"] == g711 and upd["turn_detection"] is None
    assert not fake.invalid


async def test_other_pcm_rate_is_used_natively() -> None:
    """A raw client asking for 16 kHz PCM gets it from xAI directly (OpenAI has only 24 kHz)."""
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        async with ws_connect(gw.realtime_url("grok")) as ws:
            pcm16k = {"type": "audio/pcm", "rate": 16000}
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime", "audio": {
                "input": {"format": pcm16k}, "output": {"format": pcm16k}}}}))
            while (ev := json.loads(await ws.recv()))["type"] != "session.updated":
                pass
    assert ev["session"]["audio"]["output"]["format"] == pcm16k
    assert session_updates(fake)[0]["audio"] == {"input": {"format": pcm16k}, "output": {"format": pcm16k}}
    assert not fake.invalid


async def test_unsupported_rate_and_transcription_session_are_client_errors() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.send({"type": "session.update", "session": {"type": "realtime", "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 96000}}}}})
            err = await recv_valid(conn, "ga")
            assert err["error"]["param"] == "session.audio.input.format.rate"
            await conn.send({"type": "session.update", "session": {"type": "transcription"}})
            err = await recv_valid(conn, "ga")
            assert err["error"]["param"] == "session.type"
    assert session_updates(fake) == []


async def test_newer_xai_session_created_is_announced_once() -> None:
    fake = FakeXAI(send_session_created=True, audio_delta_indices=False)
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            first = await recv_valid(conn, "ga")
            assert first["type"] == "session.created"
            assert first["session"]["audio"]["output"]["voice"] == "eve"
            assert first["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
            events = await text_turn(conn)
    assert "session.created" not in types(events)
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    assert deltas and all(e["output_index"] == 0 and e["content_index"] == 0 for e in deltas)
    check_response_events(events)


async def test_delete_and_xai_errors_reach_the_client_complete() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake)) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            await recv_until(conn, "ga", "conversation.created")
            await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": "x"}]})
            added = (await recv_until(conn, "ga", "conversation.item.added"))[-1]
            await conn.conversation.item.delete(item_id=added["item"]["id"])
            deleted = (await recv_until(conn, "ga", "conversation.item.deleted"))[-1]
            assert deleted["item_id"] == added["item"]["id"]
            await conn.send({"type": "conversation.item.truncate", "event_id": "evt_tr", "item_id": "x",
                             "content_index": 0, "audio_end_ms": 0})
            err = (await recv_until(conn, "ga", "error"))[-1]
    assert err["error"]["type"] == "invalid_request_error"
    assert err["error"]["event_id"] == "evt_tr"
    assert "truncate" in err["error"]["message"]


async def test_wrong_key_refusal_reaches_client() -> None:
    fake = FakeXAI()
    async with fake.running(), running_gateway(config(fake, api_key="xai-bad-key-123")) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="grok") as conn:
            err = await recv_valid(conn, "ga")
    assert err["type"] == "error"
    assert "Incorrect API key provided" in err["error"]["message"]
    assert "xai-bad-key-123" not in err["error"]["message"]


def test_validate_rejects_leaked_top_level_usage() -> None:
    """The strict check used above really catches xAI's top-level usage."""
    ev = {"type": "response.done", "event_id": "e", "response": {"id": "r"}, "usage": {"total_tokens": 1}}
    with pytest.raises(AssertionError, match="usage"):
        validate(ev, "ga")
