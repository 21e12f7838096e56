"""The official openai SDK (GA and beta) through rt to the fake Gemini Live server.

Every event the client receives is validated against the SDK's server-event
union for its dialect (``tests.realtime_client.next_event``); every message
the fake receives is validated against google-genai's types (``fake.invalid``
must stay empty).
"""

from __future__ import annotations

import base64
import json

import anyio
import pytest
from websockets.exceptions import ConnectionClosed

from tests.fakes.gemini_live import Reply
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, pcm16_tone

from .client_session import BETA_TEXT, GA_TEXT, connect, reply_text, start, text_turn, types, user_text
from .conftest import gemini_config

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_text_conversation(fake, dialect):
    # A grace longer than any pause before the client's session.update: one connection is asserted
    # below, and a setup sent with the defaults first would be replaced by a second one.
    async with running_gateway(gemini_config(fake, setup_grace=10)) as gw, connect(gw, dialect) as conn:
        await start(conn, dialect, GA_TEXT if dialect == "ga" else BETA_TEXT)
        events = await text_turn(conn, dialect, "hello")
        assert reply_text(events, dialect) == "Reply 1 to: hello"
        assert events[-1]["response"]["status"] == "completed"
        assert events[-1]["response"]["usage"]["total_tokens"] == 22
        events = await text_turn(conn, dialect, "again")
        assert reply_text(events, dialect) == "Reply 2 to: again"
    (c,) = fake.connections
    assert c.setup["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert c.headers["x-goog-api-key"] == "test-key"
    assert c.kinds() == ["setup", "clientContent", "clientContent"]
    assert fake.invalid == []


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_audio_turn_with_server_vad(fake, dialect):
    fake.transcripts.append("what is the weather")
    fake.replies.append(Reply(text="It is sunny today", chunks=2, audio_ms=60))
    if dialect == "ga":
        session = {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}},
                                                 "output": {"voice": "marin"}}}
    else:
        session = {"modalities": ["text", "audio"], "voice": "marin", "input_audio_transcription": {"model": "whisper-1"}}
    async with running_gateway(gemini_config(fake)) as gw, connect(gw, dialect) as conn:
        await start(conn, dialect, session)
        speech, silence = pcm16_tone(100), bytes(4800)
        for chunk in [speech] * 6 + [silence] * 8:
            await conn.input_audio_buffer.append(audio=b64(chunk))
        events = await collect_until(conn, dialect, timeout=10)
    names = types(events)
    for name in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                 "input_audio_buffer.committed", "response.created"):
        assert name in names
    assert names.index("input_audio_buffer.committed") < names.index("response.created")
    audio_kind = "response.audio.delta" if dialect == "beta" else "response.output_audio.delta"
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == audio_kind)
    assert len(audio) == 2 * 24 * 60 * 2  # two 60 ms chunks at 24 kHz, unchanged
    transcript_kind = "response.audio_transcript.done" if dialect == "beta" else "response.output_audio_transcript.done"
    assert [e["transcript"] for e in events if e["type"] == transcript_kind] == ["It is sunny today"]
    completed = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert [e["transcript"] for e in completed] == ["what is the weather"]
    setup = fake.connections[0].setup
    assert setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Aoede"
    # The fake heard the client's 24 kHz audio as it was sent, declared as such (input_audio_rate: native).
    conn0 = fake.connections[0]
    assert conn0.audio_rates == [24000]
    sent = [base64.b64decode(m["realtimeInput"]["audio"]["data"]) for m in conn0.received
            if "realtimeInput" in m and "audio" in m["realtimeInput"]]
    assert b"".join(sent) == speech * 6 + silence * 8
    assert conn0.audio_ms == pytest.approx(1400)
    assert fake.invalid == []


@pytest.mark.parametrize("rate", [16000, 8000])
async def test_a_deployment_can_resample_input_to_a_fixed_rate(fake, rate):
    """``input_audio_rate: 16000`` (or any rate): rt resamples, declares that rate, and
    the durations Gemini hears and the client is told are those of the client's audio."""
    fake.replies.append(Reply(text="ok", chunks=1))
    async with running_gateway(gemini_config(fake, input_audio_rate=rate)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"]})
        for chunk in [pcm16_tone(100)] * 6 + [bytes(4800)] * 8:
            await conn.input_audio_buffer.append(audio=b64(chunk))
        events = await collect_until(conn, "ga", timeout=10)
    assert reply_text(events) == "ok"
    stopped = next(e for e in events if e["type"] == "input_audio_buffer.speech_stopped")
    assert 1000 <= stopped["audio_end_ms"] <= 1400
    c = fake.connections[0]
    assert c.audio_rates == [rate]
    assert 1400 - 60 <= c.audio_ms <= 1400  # less what the resampler still held
    assert fake.invalid == []


async def test_g711_in_and_out(fake):
    from rt_core.audio import PCM16_24K, PCMU_8K, AudioConverter

    fake.replies.append(Reply(text="ok", chunks=1, audio_ms=100))
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}},
                                                               "output": {"format": {"type": "audio/pcmu"}}}})
        enc = AudioConverter(PCM16_24K, PCMU_8K)
        for chunk in [pcm16_tone(100)] * 6 + [bytes(4800)] * 8:
            await conn.input_audio_buffer.append(audio=b64(enc.convert(chunk)))
        events = await collect_until(conn, "ga", timeout=10)
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert abs(len(audio) - 800) <= 8  # 100 ms at 8 kHz, one byte per sample
    assert events[-1]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    # The input reached Gemini decoded to pcm16 at its own 8 kHz, not resampled.
    c = fake.connections[0]
    assert c.audio_rates == [8000]
    assert c.audio_ms == pytest.approx(enc.ms_out)
    assert fake.invalid == []


async def test_session_update_switches_the_declared_input_rate(fake):
    from rt_core.audio import PCM16_24K, PCMA_8K, AudioConverter

    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"]})
        await conn.input_audio_buffer.append(audio=b64(bytes(4800)))
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcma"}}}})
        assert (await next_event(conn, "ga"))["type"] == "session.updated"
        await conn.input_audio_buffer.append(audio=b64(AudioConverter(PCM16_24K, PCMA_8K).convert(bytes(4800))))
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}})
        assert (await next_event(conn, "ga"))["type"] == "session.updated"
        await conn.input_audio_buffer.append(audio=b64(bytes(4800)))
        with anyio.fail_after(5):
            while len(fake.connections[0].audio_rates) < 3:
                await anyio.sleep(0.01)
    assert fake.connections[0].audio_rates == [24000, 8000, 24000]
    assert len(fake.connections) == 1  # the input format is rt's own: no new connection
    assert fake.invalid == []


async def test_manual_turns(fake):
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"],
                                 "audio": {"input": {"turn_detection": None}}})
        for _ in range(5):
            await conn.input_audio_buffer.append(audio=b64(pcm16_tone(100)))
        await conn.input_audio_buffer.commit()
        committed = await next_event(conn, "ga")
        assert committed["type"] == "input_audio_buffer.committed"
        await conn.response.create()
        events = await collect_until(conn, "ga")
        assert reply_text(events).startswith("Reply 1")
    kinds = fake.connections[0].kinds()
    assert kinds[1] == "realtimeInput.activityStart"
    assert kinds[-1] == "realtimeInput.activityEnd"
    assert set(kinds[2:-1]) == {"realtimeInput.audio"}
    assert fake.invalid == []


async def test_tools_round_trip(fake):
    fake.replies += [Reply(tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}},
                                       {"name": "get_time", "args": {"tz": "CET"}}]),
                     Reply(text="Snowy at noon")]
    tools = [{"type": "function", "name": "get_weather", "description": "w",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
             {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}]
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"], "tools": tools})
        events = await text_turn(conn, "ga", "weather and time in Oslo?")
        calls = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [
            ("get_weather", {"city": "Oslo"}), ("get_time", {"tz": "CET"})]
        for c, out in zip(calls, ['{"sky": "snow"}', "12:00"]):
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": c["call_id"], "output": out})
        await conn.response.create()
        events = await collect_until(conn, "ga")
        assert reply_text(events) == "Snowy at noon"
    tool_responses = [m for m in fake.connections[0].received if "toolResponse" in m]
    assert len(tool_responses) == 1
    responses = tool_responses[0]["toolResponse"]["functionResponses"]
    assert [(r["id"], r["response"]) for r in responses] == [
        (calls[0]["call_id"], {"sky": "snow"}), (calls[1]["call_id"], {"output": "12:00"})]
    decl = fake.connections[0].setup["tools"][0]["functionDeclarations"][0]
    assert decl["parametersJsonSchema"] == tools[0]["parameters"]
    assert fake.invalid == []


async def test_interruption_cancels_the_response(fake):
    fake.replies.append(Reply(text="a very long story indeed", chunks=4, interrupt_after=2))
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime"})
        await conn.conversation.item.create(item=user_text("tell me a story"))
        await conn.response.create()
        events = await collect_until(conn, "ga")
    names = types(events)
    assert names.index("input_audio_buffer.speech_started") < names.index("response.done")
    done = events[-1]["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "turn_detected"


async def test_conversation_crosses_a_go_away_without_the_client_noticing(fake):
    async with running_gateway(gemini_config(fake, go_away_margin=0.5)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        first = await text_turn(conn, "ga", "one")
        assert reply_text(first) == "Reply 1 to: one"
        await fake.go_away("2s", close_after=2.0)
        await fake.wait_for_setup(2)
        second = await text_turn(conn, "ga", "two")
        assert reply_text(second) == "Reply 2 to: two"  # Gemini still knows turn 1
        third = await text_turn(conn, "ga", "three")
        assert reply_text(third) == "Reply 3 to: three"
        assert "error" not in types(first + second + third)
    assert len(fake.connections) == 2
    old_conn, new_conn = fake.connections
    assert old_conn.closed[0] == 1000  # rt closed it before the deadline
    assert new_conn.resumed_from is not None and new_conn.session is old_conn.session
    assert fake.invalid == []


async def test_unexpected_close_is_resumed_transparently(fake):
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "one")
        await fake.close_connection(1011, "Deadline expired")
        await fake.wait_for_setup(2)
        events = await text_turn(conn, "ga", "two")
        assert reply_text(events) == "Reply 2 to: two"
        assert "error" not in types(events)


async def test_session_update_that_needs_a_new_connection_keeps_the_conversation(fake):
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "one")
        await conn.session.update(session={"type": "realtime", "instructions": "Be formal."})
        updated = await next_event(conn, "ga")
        assert updated["type"] == "session.updated" and updated["session"]["instructions"] == "Be formal."
        events = await text_turn(conn, "ga", "two")
        assert reply_text(events) == "Reply 2 to: two"
    assert len(fake.connections) == 2
    assert fake.connections[1].setup["systemInstruction"]["parts"][0]["text"] == "Be formal."
    assert fake.connections[1].resumed_from is not None


async def test_input_audio_buffer_end_gets_one_reply(fake):
    """LiteLLM-style clients send audio, then ``input_audio_buffer.end``."""
    fake.replies.append(Reply(text="heard you", chunks=1))
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"]})
        for _ in range(5):
            await conn.input_audio_buffer.append(audio=b64(pcm16_tone(100)))
        await conn.send({"type": "input_audio_buffer.end"})
        events = await collect_until(conn, "ga")
        assert reply_text(events) == "heard you"
        with anyio.move_on_after(1.5):  # nothing else comes: no second reply
            extra = await next_event(conn, "ga", timeout=2)
            pytest.fail(f"unexpected event after the reply: {extra['type']}")
    assert [k for k in fake.connections[0].kinds() if "audioStreamEnd" in k] == ["realtimeInput.audioStreamEnd"]
    assert not [m for m in fake.connections[0].received if "clientContent" in m]


async def test_bad_key_is_reported_with_the_close_code(fake):
    async with running_gateway(gemini_config(fake, key="wrong-key")) as gw, connect(gw) as conn:
        await next_event(conn, "ga")
        await conn.session.update(session={"type": "realtime"})
        events = []
        with anyio.fail_after(5):
            while True:
                ev = await next_event(conn, "ga")
                events.append(ev)
                if ev["type"] == "error":
                    break
        err = events[-1]["error"]
        assert "1008" in err["message"] and "API key not valid" in err["message"]
        assert "wrong-key" not in json.dumps(events)


async def test_refused_reconnect_says_rt_could_not_reconnect(fake):
    """A goAway's replacement connection is refused: the client is told rt
    failed to reconnect (and why), not that Gemini closed the session."""
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "one")
        fake.refuse_handshakes = (503, "The service is currently unavailable.")
        await fake.go_away("10s")
        events = await collect_until(conn, "ga", "error")
        with pytest.raises(ConnectionClosed) as closed, anyio.fail_after(5):
            await next_event(conn, "ga")
    err = events[-1]["error"]
    assert err["code"] == "upstream_reconnect_failed" and err["type"] == "server_error"
    label = "gemini/gemini-live-2.5-flash-preview (gemini-live[0])"
    assert err["message"].startswith(f"rt could not reconnect to {label}: refused the WebSocket handshake")
    assert "HTTP 503" in err["message"] and "The service is currently unavailable." in err["message"]
    assert "Gemini Live closed" not in err["message"] and "test-key" not in err["message"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1014
    assert len(fake.connections) == 1  # the refused handshake never became a connection


async def test_client_written_from_litellm_gemini_docs(fake):
    """Chat-Completions-shaped tools, extra session fields, beta-style fields on a GA
    connection, a bare first response.create, and ``gemini_live_defer_setup``."""
    fake.replies.append(Reply(text="Hello! How can I help?", chunks=1))
    config = gemini_config(fake, setup_grace=10)  # one connection is asserted below
    config["litellm_settings"] = {"gemini_live_defer_setup": True}
    async with running_gateway(config) as gw, connect(gw) as conn:
        await next_event(conn, "ga")
        await conn.send({"type": "session.update", "session": {
            "modalities": ["text"], "instructions": "Greet the user.", "voice": "Puck",
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "d",
                                                        "parameters": {"type": "object", "properties": {}}}}],
            "vendor_specific_field": {"x": 1}}})
        updated = await next_event(conn, "ga")
        assert updated["type"] == "session.updated"
        await conn.send({"type": "response.create"})
        events = await collect_until(conn, "ga")
        assert reply_text(events) == "Hello! How can I help?"
    (c,) = fake.connections
    assert c.setup["tools"][0]["functionDeclarations"][0]["name"] == "lookup"
    assert c.setup["generationConfig"]["responseModalities"] == ["TEXT"]
    assert [m for m in c.received if "clientContent" in m] == [
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "."}]}], "turnComplete": True}}]
    assert fake.invalid == []


async def test_beta_temperature_reaches_gemini(fake):
    async with running_gateway(gemini_config(fake)) as gw, connect(gw, "beta") as conn:
        await start(conn, "beta", {"modalities": ["text"], "temperature": 0.7})
        await text_turn(conn, "beta", "hi")
    assert fake.connections[0].setup["generationConfig"]["temperature"] == 0.7


async def test_go_away_during_a_response_lets_it_finish_first(fake):
    fake.replies.append(Reply(text="one two three four five", chunks=5, chunk_delay=0.05))
    async with running_gateway(gemini_config(fake, go_away_margin=0.5)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        await conn.conversation.item.create(item=user_text("count"))
        await conn.response.create()
        events = []
        while "response.output_text.delta" not in types(events):
            events.append(await next_event(conn, "ga"))
        await fake.go_away("3s", close_after=3.0)
        events = await collect_until(conn, "ga", into=events)
        assert reply_text(events) == "one two three four five"
        assert events[-1]["response"]["status"] == "completed"
        events = await text_turn(conn, "ga", "next")
        assert reply_text(events) == "Reply 2 to: next"
    assert len(fake.connections) == 2 and fake.connections[1].resumed_from is not None


async def test_upstream_dying_mid_response_fails_it_and_the_session_goes_on(fake):
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "warm up")  # a resumption handle exists now
        fake.replies.append(Reply(text="a b c d e f", chunks=6, chunk_delay=0.05))
        await conn.conversation.item.create(item=user_text("story"))
        await conn.response.create()
        events = []
        while "response.output_text.delta" not in types(events):
            events.append(await next_event(conn, "ga"))
        await fake.close_connection(1011, "Internal error")
        events = await collect_until(conn, "ga", into=events)
        assert events[-1]["response"]["status"] == "failed"
        events = await text_turn(conn, "ga", "again")
        assert reply_text(events).endswith("to: again")


async def test_go_away_in_the_middle_of_an_utterance_loses_no_audio(fake):
    fake.transcripts.append("a sentence cut by a reconnect")
    async with running_gateway(gemini_config(fake)) as gw, connect(gw) as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["text"]})
        speech = pcm16_tone(100)
        for _ in range(4):
            await conn.input_audio_buffer.append(audio=b64(speech))
        with anyio.fail_after(5):  # the audio reached Gemini
            while len([k for k in fake.connections[0].kinds() if k == "realtimeInput.audio"]) < 3:
                await anyio.sleep(0.01)
        await fake.go_away("5s")
        await fake.wait_for_setup(2)
        for chunk in [speech] * 3 + [bytes(4800)] * 8:
            await conn.input_audio_buffer.append(audio=b64(chunk))
        events = await collect_until(conn, "ga", timeout=10)
        assert reply_text(events) == "Reply 1 to: a sentence cut by a reconnect"
        assert "error" not in types(events)
    first, second = fake.connections
    before = [m for m in first.received if "realtimeInput" in m]
    after = [m for m in second.received if "realtimeInput" in m]
    # The new connection first heard again the audio sent after the last handle the
    # old one issued (frames in flight when a handle arrives count as covered).
    replayed = max(k for k in range(len(before) + 1) if after[:k] == before[len(before) - k:])
    assert replayed >= 2
