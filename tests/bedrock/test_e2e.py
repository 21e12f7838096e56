"""End to end: the official openai SDK (GA and beta) → rt gateway → rt-bedrock
(real aws-sdk-bedrock-runtime over HTTP/2 + TLS) → the fake Nova Sonic.

Every event the client receives is validated against the SDK's server-event
union of its dialect (``next_event``); the fake checks the Nova grammar of
everything it receives (``violations``)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI

from tests.fakes.nova_sonic import Reply
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, pcm16_tone

from .conftest import NOVA2

pytestmark = pytest.mark.anyio


def nova_config(fake: Any, *, extra: dict[str, Any] | None = None, deployments: int = 1) -> dict[str, Any]:
    params = {"model": f"bedrock/{NOVA2}", "api_base": fake.url, "tls_ca_file": fake.ca_file,
              "aws_access_key_id": "AKIDTEST", "aws_secret_access_key": "test-secret",
              "aws_region_name": "us-east-1", "handshake_timeout_s": 2, **(extra or {})}
    return {"model_list": [{"model_name": "nova", "litellm_params": dict(params),
                            "model_info": {"id": f"nova-{i}"}} for i in range(deployments)]}


def connect(gw: Any, dialect: str):
    client = AsyncOpenAI(api_key="anything", base_url=gw.http_url, websocket_base_url=gw.ws_url)
    if dialect == "beta":
        return client.beta.realtime.connect(model="nova")
    return client.realtime.connect(model="nova")


async def speak(conn: Any, speech_ms: int = 400, silence_ms: int = 400) -> None:
    """A short utterance then silence, in 40 ms appends (24 kHz pcm16)."""
    tone, quiet = b64(pcm16_tone(40)), b64(bytes(40 * 48))
    for _ in range(speech_ms // 40):
        await conn.input_audio_buffer.append(audio=tone)
    for _ in range(silence_ms // 40):
        await conn.input_audio_buffer.append(audio=quiet)


def no_violations(fake: Any) -> None:
    for s in fake.streams:
        assert s.violations == [], s.violations


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_audio_turn(fake_nova, dialect):
    async with running_gateway(nova_config(fake_nova)) as gw:
        async with connect(gw, dialect) as conn:
            assert (await next_event(conn, dialect))["type"] == "session.created"
            if dialect == "beta":
                await conn.session.update(session={"voice": "echo", "input_audio_transcription": {"model": "whisper-1"},
                                                   "instructions": "Be brief."})
            else:
                await conn.session.update(session={"type": "realtime", "instructions": "Be brief.", "audio": {
                    "output": {"voice": "echo"}, "input": {"transcription": {"model": "whisper-1"}}}})
            assert (await next_event(conn, dialect))["type"] == "session.updated"
            await speak(conn)
            events = await collect_until(conn, dialect)
    types = [e["type"] for e in events]
    assert types[0] == "input_audio_buffer.speech_started"
    transcript = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert transcript["transcript"].startswith("user utterance 1")
    audio_delta = "response.audio.delta" if dialect == "beta" else "response.output_audio.delta"
    assert sum(1 for t in types if t == audio_delta) >= 2
    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["total_tokens"] > 0
    (rec,) = fake_nova.streams
    no_violations(fake_nova)
    ps = next(e["event"]["promptStart"] for e in rec.events if "promptStart" in e["event"])
    assert ps["audioOutputConfiguration"]["voiceId"] == "matthew"
    assert rec.texts(role="SYSTEM") == ["Be brief."]
    assert rec.ended == "closed"  # rt ended the stream with promptEnd/sessionEnd


async def test_tool_call_round_trip(fake_nova):
    fake_nova.reply = lambda turn, text, ms: Reply(
        user_text="weather in Paris?", tool=("get_weather", {"city": "Paris"}),
        after_tool=lambda result: [f"Paris: {json.loads(result)['temp']} degrees."])
    async with running_gateway(nova_config(fake_nova)) as gw:
        async with connect(gw, "ga") as conn:
            await next_event(conn, "ga")
            await conn.session.update(session={"type": "realtime", "tools": [{
                "type": "function", "name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]})
            await next_event(conn, "ga")
            await speak(conn)
            first = await collect_until(conn, "ga")
            call = next(e for e in first if e["type"] == "response.function_call_arguments.done")
            assert json.loads(call["arguments"]) == {"city": "Paris"}
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call["call_id"],
                                                      "output": json.dumps({"temp": 21})})
            await conn.response.create()
            second = await collect_until(conn, "ga")
    assert first[-1]["response"]["output"][-1]["type"] == "function_call"
    transcript = next(e for e in second if e["type"] == "response.output_audio_transcript.done")["transcript"]
    assert transcript == "Paris: 21 degrees."
    assert not any(e["type"] == "error" for e in second)
    no_violations(fake_nova)
    tool_block = next(e["event"]["contentStart"] for e in fake_nova.streams[0].events
                      if e["event"].get("contentStart", {}).get("type") == "TOOL")
    assert tool_block["toolResultInputConfiguration"]["toolUseId"] == call["call_id"]


async def test_session_outlives_the_stream_limit(fake_nova):
    """The fake cuts every stream after 3 s (like the 8-minute cap); rt hands
    over after 1 s: the client sees one uninterrupted session."""
    fake_nova.stream_limit_s = 3.0
    cfg = nova_config(fake_nova, extra={"continuation_after_s": 1.0, "continuation_deadline_s": 2.0})
    async with running_gateway(cfg) as gw:
        async with connect(gw, "ga") as conn:
            await next_event(conn, "ga")
            await conn.session.update(session={"type": "realtime", "instructions": "Remember things."})
            await next_event(conn, "ga")
            await speak(conn)
            first = await collect_until(conn, "ga")
            await anyio.sleep(1.5)  # past the threshold: the hand-over happens while idle
            await speak(conn)
            second = await collect_until(conn, "ga")
            await anyio.sleep(1.8)  # and once more, past the first stream's limit
            await speak(conn)
            third = await collect_until(conn, "ga")
    for events in (first, second, third):
        assert not any(e["type"] == "error" for e in events)
        assert events[-1]["response"]["status"] == "completed"
    assert len(fake_nova.streams) >= 3
    no_violations(fake_nova)
    assert fake_nova.streams[0].ended == "closed" and fake_nova.streams[1].ended == "closed"
    # The new streams were seeded with the conversation so far.
    seeded = fake_nova.streams[-1].texts(interactive=False)
    assert seeded[0] == "Remember things."
    assert any(t.startswith("Answer 1. You said: user utterance 1 of") for t in seeded)
    assert any(t.startswith("user utterance 2") for t in seeded)


async def test_stream_cut_without_notice_is_recovered(fake_nova):
    fake_nova.stream_limit_s = 1.0
    fake_nova.stream_limit_error = ("ModelTimeoutException", "Model has timed out in processing the request.")
    async with running_gateway(nova_config(fake_nova, extra={"continuation_after_s": 0})) as gw:
        async with connect(gw, "ga") as conn:
            await next_event(conn, "ga")
            await speak(conn)
            first = await collect_until(conn, "ga")
            await anyio.sleep(1.3)
            await speak(conn)
            second = await collect_until(conn, "ga")
    assert first[-1]["response"]["status"] == "completed" and second[-1]["response"]["status"] == "completed"
    assert len(fake_nova.streams) == 2 and fake_nova.streams[0].ended == "time limit"
    no_violations(fake_nova)


async def test_throttled_connect_fails_over_to_the_next_deployment(fake_nova):
    fake_nova.connect_errors.append((429, "ThrottlingException", "Too many requests"))
    async with running_gateway(nova_config(fake_nova, deployments=2)) as gw:
        async with connect(gw, "ga") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await speak(conn)
            events = await collect_until(conn, "ga")
    assert events[-1]["response"]["status"] == "completed"
    assert [s.ended for s in fake_nova.streams][0] == "rejected: ThrottlingException"


async def test_fatal_midstream_error_reaches_the_client(fake_nova):
    async with running_gateway(nova_config(fake_nova)) as gw:
        async with connect(gw, "ga") as conn:
            await next_event(conn, "ga")
            await speak(conn)
            await collect_until(conn, "ga")
            fake_nova.inject_error("ValidationException", "Invalid input request")
            err = await collect_until(conn, "ga", stop="error")
    assert err[-1]["error"]["code"] == "upstream_validation_error"
    assert "Invalid input request" in err[-1]["error"]["message"]


async def test_barge_in_cancels_the_response(fake_nova):
    fake_nova.audio_pace = 1.0  # speak in real time so the user can interrupt
    fake_nova.reply = lambda turn, text, ms: Reply(user_text=f"turn {turn}", sentences=["A long answer."],
                                                   audio_ms_per_sentence=3000)
    async with running_gateway(nova_config(fake_nova)) as gw:
        async with connect(gw, "ga") as conn:
            await next_event(conn, "ga")
            await speak(conn)
            events = await collect_until(conn, "ga", stop="response.output_audio.delta")
            await speak(conn, speech_ms=200, silence_ms=0)
            events = await collect_until(conn, "ga")
    types = [e["type"] for e in events]
    assert "input_audio_buffer.speech_started" in types
    assert types.index("input_audio_buffer.speech_started") < types.index("response.done")
    assert events[-1]["response"]["status"] == "cancelled"
    assert events[-1]["response"]["status_details"]["reason"] == "turn_detected"
