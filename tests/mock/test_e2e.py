"""The mock model end to end: the official openai SDK (GA and beta clients)
through the real gateway, every received event validated against the SDK's
server-event union for the client's dialect."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI

from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, validate_server_event

pytestmark = pytest.mark.anyio


def config(**params: Any) -> dict[str, Any]:
    return {"model_list": [{"model_name": "mock", "litellm_params": {"model": "mock/mock", **params}}]}


def connect(gw: Any, dialect: str) -> Any:
    client = AsyncOpenAI(api_key="anything", base_url=gw.http_url, websocket_base_url=gw.ws_url)
    if dialect == "beta":
        return client.beta.realtime.connect(model="mock")
    return client.realtime.connect(model="mock")


def user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def _next_beta(conn: Any) -> dict[str, Any]:
    """Like ``next_event(conn, "beta")``, except for one known gap: the beta
    SDK types list ``session.model`` as a closed set of OpenAI model names, so
    the mock's ``"mock"`` is validated as if it were one of them.  (The beta
    SDK itself never validates; only strict test clients notice.)"""
    with anyio.fail_after(5):
        event = json.loads(await conn.recv_bytes())
    checked = event
    if event["type"] in ("session.created", "session.updated") and event["session"].get("model") == "mock":
        checked = {**event, "session": {**event["session"], "model": "gpt-realtime"}}
    validate_server_event(checked, "beta")
    return event


async def recv(conn: Any, dialect: str, h: Any) -> dict[str, Any]:
    if dialect == "beta":
        return await _next_beta(conn)
    event = await next_event(conn, dialect)
    h.validate(event)  # stricter: no fields the SDK does not declare
    return event


async def until(conn: Any, dialect: str, h: Any, stop: str = "response.done") -> list[dict[str, Any]]:
    if dialect == "beta":
        events = []
        with anyio.fail_after(10):
            while not events or events[-1]["type"] != stop:
                events.append(await _next_beta(conn))
        return events
    events = await collect_until(conn, dialect, stop)
    for e in events:
        h.validate(e)
    return events


async def send_audio(conn: Any, pcm: bytes, chunk_ms: int = 40) -> None:
    size = chunk_ms * 48
    for i in range(0, len(pcm), size):
        await conn.input_audio_buffer.append(audio=b64(pcm[i : i + size]))


async def test_no_config_serves_the_mock_text_turn_in_ga_order(h):
    async with running_gateway(None, env={}) as gw, connect(gw, "ga") as conn:
        created = await recv(conn, "ga", h)
        assert created["type"] == "session.created" and created["session"]["model"] == "mock"
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert (await recv(conn, "ga", h))["type"] == "session.updated"
        await conn.conversation.item.create(item=user_text("hi there"))
        await conn.response.create()
        events = await until(conn, "ga", h)
    kinds = names(events)
    n = kinds.count("response.output_text.delta")
    assert kinds == (["conversation.item.added", "conversation.item.done", "response.created",
                      "response.output_item.added", "conversation.item.added", "response.content_part.added"]
                     + ["response.output_text.delta"] * n
                     + ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                        "conversation.item.done", "response.done"])
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "You said: hi there"
    usage = events[-1]["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


async def test_ga_voice_turn_with_server_vad_and_transcription(h):
    async with running_gateway(config()) as gw, connect(gw, "ga") as conn:
        await recv(conn, "ga", h)
        await conn.session.update(session={"type": "realtime", "audio": {
            "input": {"transcription": {"model": "whisper-1"}}}})
        await recv(conn, "ga", h)
        await send_audio(conn, h.silence(200) + h.tone(800) + h.silence(400))
        events = await until(conn, "ga", h)
    kinds = names(events)
    assert kinds[:7] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                         "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
                         "conversation.item.input_audio_transcription.completed", "response.created"]
    assert events[0]["audio_start_ms"] == 0 and events[1]["audio_end_ms"] == 1200
    assert events[5]["transcript"] == "[audio 1.20s]"
    transcript = "".join(e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: [audio 1.20s]"
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert len(audio) > 0 and len(audio) % 48 == 0  # whole milliseconds of 24 kHz PCM16
    assert events[-1]["response"]["usage"]["output_token_details"]["audio_tokens"] == -(-len(audio) // 48 // 50)


async def test_ga_tool_round_trip(h):
    tool = {"type": "function", "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    async with running_gateway(config()) as gw, connect(gw, "ga") as conn:
        await recv(conn, "ga", h)
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [tool]})
        await recv(conn, "ga", h)
        await conn.conversation.item.create(item=user_text("What does get_weather say?"))
        await conn.response.create()
        events = await until(conn, "ga", h)
        call = events[-1]["response"]["output"][0]
        assert call["type"] == "function_call" and call["arguments"] == '{"city":"example"}'
        await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call["call_id"],
                                                  "output": "sunny"})
        await conn.response.create()
        events = await until(conn, "ga", h)
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "get_weather returned: sunny"


async def test_ga_cancel_mid_stream_and_errors_echo_event_ids(h):
    async with running_gateway(config(delta_interval_ms=100)) as gw, connect(gw, "ga") as conn:
        await recv(conn, "ga", h)
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await recv(conn, "ga", h)
        await conn.conversation.item.create(item=user_text("one two three four five six seven eight"))
        await conn.response.create()
        await until(conn, "ga", h, stop="response.output_text.delta")
        await conn.response.create(event_id="evt_second")
        busy = await recv(conn, "ga", h)
        assert busy["type"] == "error"
        assert (busy["error"]["code"], busy["error"]["event_id"]) == (
            "conversation_already_has_active_response", "evt_second")
        await conn.response.cancel()
        events = await until(conn, "ga", h)
        done = events[-1]["response"]
        assert done["status"] == "cancelled" and done["status_details"]["reason"] == "client_cancelled"
        assert len(done["output"][0]["content"][0]["text"].split()) < 10
        await conn.response.cancel(event_id="evt_cancel")
        err = await recv(conn, "ga", h)
        assert (err["error"]["code"], err["error"]["event_id"]) == ("response_cancel_not_active", "evt_cancel")
        await conn.send({"type": "input_audio_buffer.frobnicate", "event_id": "evt_unknown"})
        err = await recv(conn, "ga", h)
        assert err["type"] == "error" and err["error"]["event_id"] == "evt_unknown"


async def test_ga_speech_interrupts_the_spoken_reply(h):
    async with running_gateway(config(delta_interval_ms=100)) as gw, connect(gw, "ga") as conn:
        await recv(conn, "ga", h)
        await send_audio(conn, h.tone(500) + h.silence(300))
        await until(conn, "ga", h, stop="response.output_audio.delta")
        await send_audio(conn, h.tone(200))
        events = await until(conn, "ga", h)
        kinds = names(events)
        assert "input_audio_buffer.speech_started" in kinds
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
        assert events[-1]["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}


async def test_beta_client_gets_beta_events(h):
    async with running_gateway(config()) as gw, connect(gw, "beta") as conn:
        created = await recv(conn, "beta", h)
        assert created["type"] == "session.created" and created["session"]["modalities"] == ["text", "audio"]
        await conn.session.update(session={"modalities": ["text"], "instructions": "Say: Hello beta."})
        updated = await recv(conn, "beta", h)
        assert updated["type"] == "session.updated"
        await conn.conversation.item.create(item=user_text("hi"))
        await conn.response.create()
        events = await until(conn, "beta", h)
        kinds = names(events)
        assert "conversation.item.created" in kinds
        assert "response.text.delta" in kinds and "response.output_text.delta" not in kinds
        assert "".join(e["delta"] for e in events if e["type"] == "response.text.delta") == "Hello beta."
        # An audio turn with server VAD, in beta names.
        await conn.session.update(session={"modalities": ["audio", "text"]})
        await recv(conn, "beta", h)
        await send_audio(conn, h.tone(400) + h.silence(300))
        events = await until(conn, "beta", h)
    kinds = names(events)
    assert kinds[0] == "input_audio_buffer.speech_started"
    assert "response.audio.delta" in kinds and "response.audio_transcript.delta" in kinds
    assert events[-1]["response"]["status"] == "completed"


async def test_many_sessions_at_once_stay_independent(h):
    async with running_gateway(config()) as gw:
        results: dict[int, str] = {}

        async def talk(i: int) -> None:
            async with connect(gw, "ga") as conn:
                await recv(conn, "ga", h)
                await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await recv(conn, "ga", h)
                await conn.conversation.item.create(item=user_text(f"number {i}"))
                await conn.response.create()
                events = await until(conn, "ga", h)
                results[i] = events[-1]["response"]["output"][0]["content"][0]["text"]

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(talk, i)
    assert results == {i: f"You said: number {i}" for i in range(8)}
