"""Gemini → client: event order, audio, transcripts, VAD events, interruptions, tools,
usage, goAway / resumption and errors."""

from __future__ import annotations

import base64
import json

import pytest

from rt_gemini.upstream import Reconnect

from .support import (
    TURN_COMPLETE,
    Driver,
    append,
    gemini_audio,
    gemini_text,
    input_transcript,
    transcript,
    user_text,
)

AUDIO_ORDER = [
    "response.created",
    "response.output_item.added", "conversation.item.added", "response.content_part.added",
    "response.output_audio.delta", "response.output_audio_transcript.delta",
    "response.output_audio.delta", "response.output_audio_transcript.delta",
    "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
    "response.output_item.done", "conversation.item.done",
    "response.done",
]


def audio_response(d: Driver) -> list[dict]:
    d.client(user_text("hi"))
    events = d.client({"type": "response.create"}).events
    events += d.gemini(gemini_audio(40)).events
    events += d.gemini(transcript("Hello ")).events
    events += d.gemini(gemini_audio(40)).events
    events += d.gemini(transcript("there.")).events
    events += d.gemini({"serverContent": {"generationComplete": True}}).events
    events += d.gemini(TURN_COMPLETE).events
    return events


def test_audio_response_event_order_ids_and_usage():
    d = Driver()
    d.start({})
    events = audio_response(d)
    assert [e["type"] for e in events] == AUDIO_ORDER
    resp_id = events[0]["response"]["id"]
    item_id = events[1]["item"]["id"]
    for e in events[1:-1]:
        if "response_id" in e:
            assert e["response_id"] == resp_id
        if "item_id" in e:
            assert e["item_id"] == item_id and e["output_index"] == 0
    assert len({e["event_id"] for e in events}) == len(events)
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert len(audio) == 2 * 24000 * 80 // 1000  # pcm16 24 kHz passes through unchanged
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["conversation_id"] == d.t.conversation.id
    assert done["output"] == [{"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                               "status": "completed", "content": [{"type": "output_audio", "transcript": "Hello there."}]}]
    assert done["usage"] == {
        "total_tokens": 28, "input_tokens": 20, "output_tokens": 8,
        "input_token_details": {"text_tokens": 12, "audio_tokens": 8, "image_tokens": 0, "cached_tokens": 0,
                                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0}},
        "output_token_details": {"text_tokens": 0, "audio_tokens": 8},
    }
    by_type = {e["type"]: e for e in events}
    assert by_type["response.output_audio_transcript.done"]["transcript"] == "Hello there."
    assert by_type["response.content_part.done"]["part"] == {"type": "audio", "transcript": "Hello there."}


def test_text_response_event_order():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.client(user_text("hi"))
    events = d.client({"type": "response.create"}).events
    events += d.gemini(gemini_text("Hel")).events + d.gemini(gemini_text("lo")).events + d.gemini(TURN_COMPLETE).events
    assert [e["type"] for e in events] == [
        "response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "conversation.item.done", "response.done"]
    assert events[6]["text"] == "Hello"
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "output_text", "text": "Hello"}]


def test_mixed_text_and_audio_parts_in_one_frame_are_split():
    d = Driver()
    d.start({})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    frame = gemini_audio(40)
    frame["serverContent"]["modelTurn"]["parts"] += [
        {"text": "(thinking out loud)"}, {"text": "plan", "thought": True},
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(b"\x01\x00" * 480).decode()}}]
    step = d.gemini(frame)
    deltas = step.of("response.output_audio.delta")
    assert len(deltas) == 2 and len(base64.b64decode(deltas[1]["delta"])) == 960
    assert not step.of("response.output_text.delta")  # model text in an audio session is not speech
    assert not step.of("response.output_audio_transcript.delta")
    d.gemini(transcript("Hi."))
    done = d.gemini(TURN_COMPLETE).one("response.done")["response"]
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": "Hi."}]


def test_audio_session_answered_in_text_only_shows_the_text():
    d = Driver()
    d.start({})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("I can only write this."))
    step = d.gemini(TURN_COMPLETE)
    assert "response.output_text.delta" in step.types()
    assert step.one("response.done")["response"]["output"][0]["content"] == [
        {"type": "output_text", "text": "I can only write this."}]


@pytest.mark.parametrize("fmt", [{"type": "audio/pcmu"}, {"type": "audio/pcma"}])
def test_output_audio_is_transcoded_to_g711_at_8k(fmt):
    d = Driver()
    d.start({"audio": {"output": {"format": fmt}}})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    out = b""
    for _ in range(10):
        out += b"".join(base64.b64decode(e["delta"]) for e in d.gemini(gemini_audio(100)).of("response.output_audio.delta"))
    step = d.gemini(TURN_COMPLETE)
    out += b"".join(base64.b64decode(e["delta"]) for e in step.of("response.output_audio.delta"))
    assert abs(len(out) - 8000) <= 16  # one second at 8 kHz, one byte per sample
    assert step.one("response.done")["response"]["audio"]["output"]["format"] == fmt


# ---------------------------------------------------------------------- server VAD events and transcription


def test_server_vad_events_and_input_transcription_attached_to_the_user_item():
    d = Driver()
    d.start({"audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"},
                                 "turn_detection": {"type": "server_vad", "silence_duration_ms": 400}}}})
    for _ in range(10):
        d.client(append(100))  # 1000 ms of audio
    s1 = d.gemini(input_transcript(" What's the"))
    started = s1.one("input_audio_buffer.speech_started")
    assert 0 <= started["audio_start_ms"] <= 1000
    item_id = started["item_id"]
    assert not s1.of("conversation.item.input_audio_transcription.delta")  # the item does not exist yet
    for _ in range(5):
        d.client(append(100))
    d.gemini(input_transcript(" weather?"))
    s3 = d.gemini(gemini_audio())
    assert s3.types()[:6] == [
        "input_audio_buffer.speech_stopped", "input_audio_buffer.committed", "conversation.item.added",
        "conversation.item.done", "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.delta"]
    stopped = s3.one("input_audio_buffer.speech_stopped")
    assert stopped["item_id"] == item_id and started["audio_start_ms"] <= stopped["audio_end_ms"] <= 1500
    assert s3.one("input_audio_buffer.committed")["item_id"] == item_id
    assert [e["delta"] for e in s3.of("conversation.item.input_audio_transcription.delta")] == ["What's the", " weather?"]
    assert s3.types()[6] == "response.created"
    late = d.gemini(input_transcript(" Thanks"))  # transcription can lag behind the reply
    assert late.one("conversation.item.input_audio_transcription.delta")["item_id"] == item_id
    d.gemini(transcript("Sunny."))
    end = d.gemini(TURN_COMPLETE)
    completed = end.one("conversation.item.input_audio_transcription.completed")
    assert completed["item_id"] == item_id and completed["transcript"] == "What's the weather? Thanks"
    assert end.types().index("conversation.item.input_audio_transcription.completed") < end.types().index("response.done")
    item = d.client({"type": "conversation.item.retrieve", "item_id": item_id}).one("conversation.item.retrieved")["item"]
    assert item["content"] == [{"type": "input_audio", "transcript": "What's the weather? Thanks"}]


def test_transcription_finished_flag_completes_the_turn():
    d = Driver()
    d.start({"audio": {"input": {"transcription": {"model": "whisper-1"}}}})
    d.client(append(500))
    d.gemini(input_transcript("hello"))
    d.gemini(gemini_audio())
    step = d.gemini(input_transcript("", finished=True))
    assert step.one("conversation.item.input_audio_transcription.completed")["transcript"] == "hello"
    assert not d.gemini(TURN_COMPLETE).of("conversation.item.input_audio_transcription.completed")


def test_reply_without_any_transcript_still_commits_the_user_audio():
    d = Driver()
    d.start({})
    d.client(append(600))
    step = d.gemini(gemini_audio())
    assert step.types()[:5] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                                "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]


def test_output_transcription_outside_a_turn_starts_nothing():
    d = Driver()
    d.start({})
    assert d.gemini(transcript("late words")).events == []  # e.g. after the turn ended
    d.gemini(TURN_COMPLETE)
    assert d.t.resp is None
    # Transcription that precedes the audio of a new reply is kept for it.
    d.client(append(400))
    d.gemini(transcript("Hello "))
    step = d.gemini(gemini_audio())
    assert step.types()[-3:] == ["response.content_part.added", "response.output_audio_transcript.delta",
                                 "response.output_audio.delta"]
    assert step.one("response.output_audio_transcript.delta")["delta"] == "Hello "


def test_voice_activity_signals_are_used_when_present():
    d = Driver()
    d.start({})
    d.client(append(300))
    s = d.gemini({"voiceActivity": {"voiceActivityType": "ACTIVITY_START"}})
    assert s.types() == ["input_audio_buffer.speech_started"]
    d.client(append(300))
    s = d.gemini({"voiceActivity": {"voiceActivityType": "ACTIVITY_END"}})
    assert s.types() == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                         "conversation.item.added", "conversation.item.done"]


# ---------------------------------------------------------------------- interruption


def test_interrupted_cancels_the_response_after_speech_started():
    d = Driver()
    d.start({})
    d.client(append(500))
    d.gemini(gemini_audio())
    d.gemini(transcript("Once upon"))
    d.client(append(300))
    step = d.gemini({"serverContent": {"interrupted": True}})
    types = step.types()
    assert types[0] == "input_audio_buffer.speech_started"
    assert types[-1] == "response.done"
    assert types.index("input_audio_buffer.speech_started") < types.index("response.done")
    done = step.one("response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert done["output"][0]["status"] == "incomplete"
    assert done["output"][0]["content"][0]["transcript"] == "Once upon"
    # The interrupted turn's tail is dropped; the next reply is a new response.
    assert d.gemini({"serverContent": {"turnComplete": True}}).events == []
    d.gemini(input_transcript("stop"))
    nxt = d.gemini(gemini_audio())
    assert "response.created" in nxt.types()
    assert nxt.one("input_audio_buffer.committed")["item_id"] == step.one("input_audio_buffer.speech_started")["item_id"]


def test_create_response_false_holds_gemini_reply_until_response_create():
    d = Driver()
    d.start({"audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
    d.client(append(500))
    s1 = d.gemini(input_transcript("hi"))
    s2 = d.gemini(gemini_audio())
    s3 = d.gemini(transcript("Hello"))
    s4 = d.gemini(TURN_COMPLETE)
    shown = s1.types() + s2.types() + s3.types() + s4.types()
    assert "response.created" not in shown
    assert "input_audio_buffer.committed" in shown  # the turn itself is committed, as on OpenAI
    step = d.client({"type": "response.create"})
    assert step.upstream == []  # the held reply is used, no new request
    assert [t for t in step.types() if t.startswith("response.")][0] == "response.created"
    assert step.types()[-1] == "response.done"
    assert step.one("response.output_audio_transcript.delta")["delta"] == "Hello"


def test_held_reply_is_dropped_when_the_user_speaks_again():
    d = Driver()
    d.start({"audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
    d.client(append(500))
    d.gemini(gemini_audio())
    d.gemini(TURN_COMPLETE)
    d.client(append(300))
    d.gemini(input_transcript("actually"))
    assert d.t.held is None


# ---------------------------------------------------------------------- tools


def tool_driver() -> Driver:
    d = Driver()
    d.start({"output_modalities": ["text"], "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}}]})
    d.client(user_text("weather and time?"))
    d.client({"type": "response.create"})
    return d


def test_parallel_tool_calls_are_all_delivered():
    d = tool_driver()
    step = d.gemini({"toolCall": {"functionCalls": [
        {"id": "a1", "name": "get_weather", "args": {"city": "Oslo"}},
        {"id": "a2", "name": "get_time", "args": {"tz": "CET"}}]}})
    assert step.types() == [
        "response.output_item.added", "conversation.item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "conversation.item.done",
        "response.output_item.added", "conversation.item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done", "conversation.item.done",
        "response.done"]
    done = step.one("response.done")["response"]
    assert [(o["call_id"], o["name"], json.loads(o["arguments"])) for o in done["output"]] == [
        ("a1", "get_weather", {"city": "Oslo"}), ("a2", "get_time", {"tz": "CET"})]
    assert [o["output_index"] for o in step.of("response.output_item.added")] == [0, 1]
    # A trailing turnComplete of the tool turn is not a new response.
    assert d.gemini({"serverContent": {"turnComplete": True}}).events == []
    for cid, out in (("a1", "sunny"), ("a2", "noon")):
        d.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": cid, "output": out}})
    step = d.client({"type": "response.create"})
    responses = step.frames("toolResponse")[0]["toolResponse"]["functionResponses"]
    assert [(r["id"], r["response"]) for r in responses] == [("a1", {"output": "sunny"}), ("a2", {"output": "noon"})]
    d.gemini(gemini_text("Sunny at noon."))
    assert d.gemini(TURN_COMPLETE).one("response.done")["response"]["status"] == "completed"


def test_tool_call_cancellation_marks_the_calls_cancelled():
    d = tool_driver()
    step = d.gemini({"toolCall": {"functionCalls": [{"id": "x1", "name": "get_weather", "args": {}}]}})
    item_id = step.one("response.output_item.done")["item"]["id"]
    step = d.gemini({"toolCallCancellation": {"ids": ["x1"]}})
    assert step.one("conversation.item.deleted")["item_id"] == item_id
    from rt_core import ClientEventError
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "x1", "output": "late"}})
    assert info.value.code == "tool_call_cancelled"


def test_calls_without_ids_get_rt_ids_and_vertex_style_responses():
    d = tool_driver()
    step = d.gemini({"toolCall": {"functionCalls": [{"name": "get_time", "args": {}}]}})
    call_id = step.one("response.function_call_arguments.done")["call_id"]
    assert call_id.startswith("call_")
    d.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id, "output": "{}"}})
    responses = d.client({"type": "response.create"}).frames("toolResponse")[0]["toolResponse"]["functionResponses"]
    assert responses == [{"name": "get_time", "response": {}}]


def test_audio_before_a_tool_call_is_kept_in_the_same_response():
    d = Driver()
    d.start({"tools": [{"type": "function", "name": "lookup"}]})
    d.client(user_text("look it up"))
    d.client({"type": "response.create"})
    d.gemini(gemini_audio())
    d.gemini(transcript("Let me check."))
    step = d.gemini({"toolCall": {"functionCalls": [{"id": "l1", "name": "lookup", "args": {}}]}})
    done = step.one("response.done")["response"]
    assert [o["type"] for o in done["output"]] == ["message", "function_call"]
    assert done["output"][0]["content"][0]["transcript"] == "Let me check."


# ---------------------------------------------------------------------- usage


def test_vertex_usage_names():
    d = Driver(platform="vertex", model="projects/p/locations/l/publishers/google/models/m")
    d.start({"output_modalities": ["text"]})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("ok"))
    usage = d.gemini({"serverContent": {"turnComplete": True}, "usageMetadata": {
        "promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5, "trafficType": "ON_DEMAND",
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 2}]}}).one("response.done")["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (3, 2, 5)
    assert usage["output_token_details"]["text_tokens"] == 2


def test_cached_and_thought_tokens():
    from rt_gemini.usage import usage_from_gemini

    u = usage_from_gemini({"promptTokenCount": 100, "cachedContentTokenCount": 40, "responseTokenCount": 10,
                           "thoughtsTokenCount": 6, "totalTokenCount": 116,
                           "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 30}, {"modality": "AUDIO", "tokenCount": 10}]})
    assert u["output_tokens"] == 16 and u["input_token_details"]["cached_tokens"] == 40
    assert u["input_token_details"]["cached_tokens_details"] == {"text_tokens": 30, "audio_tokens": 10, "image_tokens": 0}


# ---------------------------------------------------------------------- goAway, resumption, errors


def test_go_away_when_idle_reconnects_at_once_with_the_handle():
    d = Driver()
    d.start({})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-7", "resumable": True}})
    step = d.gemini({"goAway": {"timeLeft": "30s"}})
    (rc,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    assert json.loads(rc.setup)["setup"]["sessionResumption"] == {"handle": "h-7"}
    assert step.events == []  # the client notices nothing
    held = d.client(append(100))
    assert held.upstream == []
    d.reconnected()
    replay = d.gemini({"setupComplete": {}})
    assert [next(iter(f)) for f in replay.upstream] == ["realtimeInput"]


def test_go_away_during_a_response_waits_for_it_then_reconnects():
    d = Driver()
    d.streaming_text_response()
    step = d.gemini({"goAway": {"timeLeft": "10s"}})
    assert not [f for f in step.upstream if isinstance(f, Reconnect)]
    assert [(s.signal.name, s.delay) for s in step.schedules] == [("gemini.go_away", 8.0)]
    d.gemini({"sessionResumptionUpdate": {"resumable": False}})
    step = d.gemini(TURN_COMPLETE)
    assert step.types()[-1] == "response.done"
    (rc,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    assert json.loads(rc.setup)["setup"]["sessionResumption"] == {"handle": "h-1"}
    assert d.timer("gemini.go_away").upstream == []


def test_go_away_deadline_forces_the_reconnect():
    d = Driver()
    d.streaming_text_response("long story", "Once")
    d.gemini({"goAway": {"timeLeft": "3s"}})
    step = d.timer("gemini.go_away")
    done = step.one("response.done")["response"]
    assert done["status"] == "failed" and done["status_details"]["error"]["code"] == "upstream_reconnected"
    assert [f for f in step.upstream if isinstance(f, Reconnect)]


def test_unexpected_close_is_resumed_with_the_handle():
    d = Driver()
    d.start({})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-9", "resumable": True}})
    d.client(append(100))
    step = d.dropped(1011, "Deadline expired")
    (rc,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    assert json.loads(rc.setup)["setup"]["sessionResumption"] == {"handle": "h-9"}
    assert step.closes == [] and step.events == []


def test_audio_the_handle_does_not_cover_is_replayed_on_the_new_connection():
    d = Driver()
    d.start({})
    early = [f for _ in range(10) for f in d.client(append(100)).upstream]  # 1 s
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    after = d.client(append(100)).upstream + d.client(append(100)).upstream  # the user is mid-utterance
    step = d.dropped(1011, "Deadline expired")
    (rc,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    replay = [json.loads(f) for f in rc.replay]
    assert replay[-2:] == after
    # Of the audio before the handle only the last ~0.5 s (possibly in flight) is kept.
    kept = replay[:-2]
    assert kept == early[len(early) - len(kept):] and 0 < len(kept) < len(early)
    assert 300 <= sum(len(f["realtimeInput"]["audio"]["data"]) for f in kept) * 3 / 4 / 48 <= 600  # ms at 24 kHz


def test_replay_memory_is_small_while_nobody_speaks():
    d = Driver()
    d.start({})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    for _ in range(100):  # 10 s of microphone, no speech detected
        d.client(append(100))
    assert 1800 <= kept_ms(d) <= 2100  # about 2 s (at 24 kHz, sent natively)
    d.gemini(input_transcript("now I speak"))
    for _ in range(100):
        d.client(append(100))
    assert kept_ms(d) >= 10_000  # the whole utterance is kept


def kept_ms(d: Driver, rate: int = 24000) -> float:
    """Milliseconds of audio in the translator's replay buffer."""
    frames = [json.loads(f)["realtimeInput"]["audio"] for f in d.t.since_handle]
    assert {f["mimeType"] for f in frames} == {f"audio/pcm;rate={rate}"}
    return sum(len(base64.b64decode(f["data"])) for f in frames) / (rate * 2 / 1000)


def test_manual_turn_audio_is_not_replayed():
    d = Driver()
    d.start({"audio": {"input": {"turn_detection": None}}})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    d.client(append(200))
    d.client({"type": "input_audio_buffer.commit"})
    (rc,) = [f for f in d.dropped(1011, "x").upstream if isinstance(f, Reconnect)]
    assert rc.replay == ()


def test_unexpected_close_without_handle_or_auth_error_ends_the_session():
    d = Driver()
    d.start({})
    d.client(append(100))
    step = d.dropped(1011, "Internal error")
    (close,) = step.closes
    assert close.code == 1011 and close.error["code"] == "upstream_internal_error"
    assert "1011" in close.error["message"] and "Internal error" in close.error["message"]
    d2 = Driver()
    d2.start({})
    d2.gemini({"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}})
    (close,) = d2.dropped(1008, "API key not valid").closes
    assert close.code == 1008 and close.error["type"] == "invalid_request_error"


def test_resumptions_are_bounded():
    d = Driver(max_resumptions=2)
    d.start({})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}})
    for _ in range(2):
        assert [f for f in d.dropped(1011, "x").upstream if isinstance(f, Reconnect)]
        d.gemini({"setupComplete": {}})
    assert d.dropped(1011, "x").closes


def test_upstream_lost_fails_the_response_and_reports_code_and_reason():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("partial"))
    step = d.lost(1007, "Request contains an invalid argument.")
    done = step.one("response.done")["response"]
    assert done["status"] == "failed"
    (close,) = step.closes
    assert close.code == 1007
    assert close.error["message"] == "Gemini Live closed the connection with code 1007: Request contains an invalid argument."


def test_failed_reconnect_is_reported_as_rts_failure_not_geminis():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}})
    assert [f for f in d.dropped(1011, "Deadline expired").upstream if isinstance(f, Reconnect)]
    message = "rt could not reconnect to gemini/m (gemini-live[0]): no new connection within 10 s"
    step = d.reconnect_failed(message)
    (close,) = step.closes
    assert close.code == 1014
    assert close.error == {"type": "server_error", "code": "upstream_reconnect_failed", "message": message,
                           "param": None, "event_id": None}
    assert d.lost(1014, "reconnect failed").closes == []  # the session ended once


def test_setup_rejected_before_ready_is_fatal():
    d = Driver()
    d.opened()
    d.client({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "Nobody"}}}})
    (close,) = d.dropped(1007, "Invalid voice").closes
    assert close.error["param"] is None and "Invalid voice" in close.error["message"]


def test_garbage_from_gemini_is_reported_not_fatal():
    d = Driver()
    d.start({})
    step = d._run(d.t.outbound(b"\x00not json"))
    assert step.one("error")["error"]["code"] == "upstream_protocol_error"
    step = d._run(d.t.outbound(b"[1, 2]"))
    assert step.types() == ["error"]
    assert d.gemini({"someFutureField": {"x": 1}}, validate=False).events == []


@pytest.mark.parametrize("frame", [
    b'{"serverContent":{"outputTranscription":{"text":"\\udc00"}}}',  # valid JSON, not UTF-8-encodable
    b'{"serverContent":{"modelTurn":{"parts":[{"text":"\\ud800 hi"}]}}}',
    b'{"serverContent":' + b"[" * 300 + b"]" * 300 + b"}",
])
def test_frames_rt_could_parse_but_not_relay_are_reported_not_fatal(frame):
    """An unpaired surrogate escape or nesting past MAX_EVENT_DEPTH: refused where it
    is parsed, so nothing fails later while encoding what goes to the client."""
    d = Driver()
    d.start({})
    step = d._run(d.t.outbound(frame))
    assert step.one("error")["error"]["code"] == "upstream_protocol_error"
    assert "response.output_audio.delta" in d.gemini(gemini_audio(40)).types()  # the session goes on
