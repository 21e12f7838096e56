"""Client → Gemini: audio, commits, conversation items, response.create/cancel, truncate, delete."""

from __future__ import annotations

import base64
import json

import pytest

from rt_core import ClientEventError, UnsupportedEventError
from rt_core.audio import PCM16_24K, PCMA_8K, PCMU_8K, AudioConverter

from .support import TURN_COMPLETE, Driver, append, b64, gemini_audio, gemini_text, input_transcript, pcm16, transcript, user_text


def audio_bytes(frames: list[dict], rate: int = 24000) -> bytes:
    """The pcm16 in the ``realtimeInput.audio`` frames, which must all declare ``rate``
    (24 kHz: the default client format, sent natively)."""
    out = b""
    for f in frames:
        audio = f.get("realtimeInput", {}).get("audio")
        if audio:
            assert audio["mimeType"] == f"audio/pcm;rate={rate}"
            out += base64.b64decode(audio["data"])
    return out


# ---------------------------------------------------------------------- input audio


@pytest.mark.parametrize("fmt,src", [
    ({"type": "audio/pcm", "rate": 24000}, PCM16_24K),
    ({"type": "audio/pcmu"}, PCMU_8K),
    ({"type": "audio/pcma"}, PCMA_8K),
])
def test_input_audio_formats_become_16k_pcm_when_the_deployment_resamples(fmt, src):
    d = Driver(input_audio_rate=16000)
    d.start({"audio": {"input": {"format": fmt}}})
    pcm = pcm16(1000, rate=src.rate)
    enc = AudioConverter(PCM16_24K if src.rate == 24000 else src.__class__("pcm16", src.rate), src)
    data = enc.convert(pcm)
    sent = b""
    for i in range(0, len(data), len(data) // 50):  # 20 ms chunks
        sent += audio_bytes(d.client({"type": "input_audio_buffer.append", "audio": b64(data[i:i + len(data) // 50])}).upstream, 16000)
    sent += audio_bytes(d.client({"type": "input_audio_buffer.commit"}).upstream, 16000)  # flushes the resampler
    assert abs(len(sent) - 32000) <= 64  # one second of 16 kHz pcm16, give or take a few samples
    assert {"realtimeInput": {"audioStreamEnd": True}} in d.all_upstream()


def test_url_safe_base64_audio_is_accepted():
    d = Driver()
    d.start({})
    raw = bytes(range(256)) * 10  # contains bytes that encode to '+' and '/'
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    step = d.client({"type": "input_audio_buffer.append", "audio": urlsafe})
    assert step.types() == []


def test_bad_audio_is_an_error_not_a_crash():
    d = Driver()
    d.start({})
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "input_audio_buffer.append", "event_id": "e5", "audio": "!!!not base64"})
    assert info.value.param == "audio" and info.value.event_id == "e5"
    with pytest.raises(ClientEventError):
        d.client({"type": "input_audio_buffer.append", "audio": 12})


# ---------------------------------------------------------------------- server VAD commits


def test_vad_commit_ends_the_turn_with_audio_stream_end_and_one_reply():
    d = Driver()
    d.start({})
    d.client(append(500))
    step = d.client({"type": "input_audio_buffer.commit"})
    assert step.types() == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert step.frames()[-1] == {"realtimeInput": {"audioStreamEnd": True}}
    item_id = step.one("input_audio_buffer.committed")["item_id"]
    assert step.one("conversation.item.added")["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    # The client asks for the reply Gemini is already going to give: no second trigger.
    step = d.client({"type": "response.create"})
    assert step.types() == ["response.created"] and step.upstream == []
    d.gemini(gemini_audio())
    d.gemini(transcript("Hi there"))
    done = d.gemini(TURN_COMPLETE)
    assert done.one("response.done")["response"]["status"] == "completed"
    assert not [f for f in d.all_upstream() if isinstance(f, dict) and "clientContent" in f]
    assert d.t.conversation.get(item_id) is not None


def test_response_create_after_gemini_vad_already_replied_gives_no_second_reply():
    d = Driver()
    d.start({})
    d.client(append(500))
    d.gemini({"serverContent": {"inputTranscription": {"text": "hello"}}})
    started = d.gemini(gemini_audio())  # Gemini's VAD ended the turn and replies by itself
    assert started.types()[:4] == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                                   "conversation.item.added", "conversation.item.done"]
    assert "response.created" in started.types()
    d.gemini(TURN_COMPLETE)
    step = d.client({"type": "response.create"})  # e.g. a LiteLLM-style client's commit + response.create
    assert step.events == [] and step.upstream == []


def test_response_create_while_gemini_reply_streams_is_matched_to_it():
    d = Driver()
    d.start({})
    d.client(append(500))
    d.gemini(gemini_audio())
    step = d.client({"type": "response.create"})
    assert step.events == [] and step.upstream == []
    # A second one is an error, as on OpenAI.
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "response.create"})
    assert info.value.code == "conversation_already_has_active_response"


def test_commit_with_no_audio_is_an_error():
    d = Driver()
    d.start({})
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "input_audio_buffer.commit", "event_id": "c1"})
    assert info.value.code == "input_audio_buffer_commit_empty" and info.value.event_id == "c1"


def test_commit_reply_fallback_when_gemini_does_not_reply():
    d = Driver()
    d.start({})
    d.client(append(500))
    step = d.client({"type": "input_audio_buffer.commit"})
    assert [s.signal.name for s in step.schedules] == ["gemini.commit_reply"]
    assert d.client({"type": "response.create"}).types() == ["response.created"]
    step = d.timer("gemini.commit_reply")
    assert step.frames() == [{"clientContent": {"turnComplete": True}}]
    # A commit nobody asked a reply for gets none (OpenAI replies to commits only on request).
    d3 = Driver()
    d3.start({})
    d3.client(append(500))
    d3.client({"type": "input_audio_buffer.commit"})
    assert d3.timer("gemini.commit_reply").upstream == []
    # Once a reply started, the timer does nothing.
    d2 = Driver()
    d2.start({})
    d2.client(append(500))
    d2.client({"type": "input_audio_buffer.commit"})
    d2.gemini(gemini_audio())
    assert d2.timer("gemini.commit_reply").upstream == []


@pytest.mark.parametrize("rate", [16000, "native"])
def test_vertex_commit_uses_a_silence_tail_not_audio_stream_end(rate):
    d = Driver(platform="vertex", model="projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash",
               input_audio_rate=rate)
    d.start({"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 600}}}})
    d.client(append(500))
    step = d.client({"type": "input_audio_buffer.commit"})
    assert all("audioStreamEnd" not in f["realtimeInput"] for f in step.frames("realtimeInput"))
    hz = 16000 if rate == 16000 else 24000
    tail = audio_bytes(step.upstream, hz)
    # 600 ms + 500 ms of silence at the rate in force (plus, at 16 kHz, the resampler's tail)
    assert tail.count(0) >= hz * 2 * 11 // 10 and len(tail) <= hz * 2 * 12 // 10
    assert d.setup()["model"].startswith("projects/p/")


def test_commit_after_gemini_already_answered_adds_no_reply():
    d = Driver()
    d.start({})
    d.client(append(500))
    d.gemini(input_transcript("hello"))
    d.gemini(gemini_audio())
    d.gemini(TURN_COMPLETE)
    d.client(append(300))  # trailing silence
    d.client({"type": "input_audio_buffer.commit"})
    assert d.client({"type": "response.create"}).events == []
    assert d.timer("gemini.commit_reply").upstream == []


def test_vad_clear_acknowledges():
    d = Driver()
    d.start({})
    d.client(append(200))
    assert d.client({"type": "input_audio_buffer.clear"}).types() == ["input_audio_buffer.cleared"]
    with pytest.raises(ClientEventError):
        d.client({"type": "input_audio_buffer.commit"})  # the buffer is empty now


# ---------------------------------------------------------------------- manual turns


def manual() -> Driver:
    d = Driver()
    d.start({"output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}})
    return d


def test_manual_turn_activity_around_committed_audio_reply_on_response_create():
    d = manual()
    assert d.client(append(300)).upstream == []  # kept until commit
    step = d.client({"type": "input_audio_buffer.commit"})
    kinds = [list(f["realtimeInput"])[0] for f in step.frames("realtimeInput")]
    assert kinds[0] == "activityStart" and set(kinds[1:]) == {"audio"}
    assert audio_bytes(step.upstream) == pcm16(300)  # sent as the client gave it, at 24 kHz
    assert step.types() == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    step = d.client({"type": "response.create"})
    assert step.frames() == [{"realtimeInput": {"activityEnd": {}}}]
    assert step.types() == ["response.created"]
    d.gemini(gemini_text("ok"))
    assert d.gemini(TURN_COMPLETE).types()[-1] == "response.done"
    ends = [f for f in d.all_upstream() if isinstance(f, dict) and "activityEnd" in f.get("realtimeInput", {})]
    assert len(ends) == 1


def test_manual_clear_really_clears():
    d = manual()
    d.client(append(300))
    assert d.client({"type": "input_audio_buffer.clear"}).types() == ["input_audio_buffer.cleared"]
    with pytest.raises(ClientEventError):
        d.client({"type": "input_audio_buffer.commit"})
    d.client(append(200))
    step = d.client({"type": "input_audio_buffer.commit"})
    assert audio_bytes(step.upstream) == pcm16(200)


def test_manual_two_commits_then_one_reply():
    d = manual()
    d.client(append(200))
    d.client({"type": "input_audio_buffer.commit"})
    d.client(append(200))
    step = d.client({"type": "input_audio_buffer.commit"})
    assert not [f for f in step.frames("realtimeInput") if "activityStart" in f["realtimeInput"]]
    step = d.client({"type": "response.create"})
    assert step.frames() == [{"realtimeInput": {"activityEnd": {}}}]


def test_manual_commit_without_response_create_sends_no_activity_end():
    d = manual()
    d.client(append(200))
    d.client({"type": "input_audio_buffer.commit"})
    assert not [f for f in d.all_upstream() if isinstance(f, dict) and "activityEnd" in f.get("realtimeInput", {})]


# ---------------------------------------------------------------------- conversation items


def text_driver() -> Driver:
    d = Driver()
    d.start({"output_modalities": ["text"]})
    return d


def test_history_does_not_trigger_and_response_create_triggers_once():
    d = text_driver()
    s1 = d.client(user_text("My name is Ada."))
    s2 = d.client({"type": "conversation.item.create", "item": {
        "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello Ada."}]}})
    s3 = d.client(user_text("What is my name?"))
    assert s1.upstream == s2.upstream == s3.upstream == []
    for s in (s1, s2, s3):
        assert s.types() == ["conversation.item.added", "conversation.item.done"]
    assert s2.one("conversation.item.added")["previous_item_id"] == s1.one("conversation.item.added")["item"]["id"]
    step = d.client({"type": "response.create"})
    (frame,) = step.frames()
    assert frame == {"clientContent": {"turnComplete": True, "turns": [
        {"role": "user", "parts": [{"text": "My name is Ada."}]},
        {"role": "model", "parts": [{"text": "Hello Ada."}]},
        {"role": "user", "parts": [{"text": "What is my name?"}]}]}}


def test_user_audio_and_image_items():
    d = text_driver()
    png = base64.b64encode(b"\x89PNG fake").decode()
    step = d.client({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": b64(pcm16(100))},
        {"type": "input_image", "image_url": f"data:image/png;base64,{png}"},
        {"type": "input_text", "text": "what is this?"}]}})
    shown = step.one("conversation.item.added")["item"]["content"]
    assert shown[0] == {"type": "input_audio", "transcript": None}  # no audio data echoed
    d.client({"type": "response.create"})
    parts = d.log[-1].frames()[0]["clientContent"]["turns"][0]["parts"]
    assert parts[0]["inlineData"]["mimeType"] == "audio/pcm;rate=24000"
    assert base64.b64decode(parts[0]["inlineData"]["data"]) == pcm16(100)
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": png}}
    assert parts[2] == {"text": "what is this?"}


def test_image_urls_must_be_inline():
    d = text_driver()
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
            {"type": "input_image", "image_url": "https://example.com/cat.png"}]}})
    assert info.value.param == "item.content[0].image_url"


def test_system_message_becomes_a_user_turn():
    d = text_driver()
    d.client({"type": "conversation.item.create", "item": {"type": "message", "role": "system",
                                                          "content": [{"type": "input_text", "text": "Be brief."}]}})
    d.client({"type": "response.create"})
    turns = d.log[-1].frames()[0]["clientContent"]["turns"]
    assert turns[0] == {"role": "user", "parts": [{"text": "Be brief."}]}


def test_previous_item_id_must_be_the_last_item():
    d = text_driver()
    first = d.client(user_text("a")).one("conversation.item.added")["item"]["id"]
    d.client(user_text("b"))
    with pytest.raises(UnsupportedEventError) as info:
        d.client({**user_text("c"), "previous_item_id": first})
    assert info.value.param == "previous_item_id"


def test_bare_response_create_sends_a_placeholder_for_gemini_2():
    d = text_driver()
    step = d.client({"type": "response.create"})
    assert step.frames() == [{"clientContent": {"turns": [{"role": "user", "parts": [{"text": "."}]}],
                                                "turnComplete": True}}]
    d2 = Driver(model="models/gemini-3.1-flash-live-preview")
    d2.start({"output_modalities": ["text"]})
    assert d2.client({"type": "response.create"}).frames() == [{"clientContent": {"turnComplete": True}}]


def test_response_instructions_are_a_user_turn():
    d = text_driver()
    d.client(user_text("hi"))
    step = d.client({"type": "response.create", "response": {"instructions": "Greet the user in French."}})
    turns = step.frames()[0]["clientContent"]["turns"]
    assert turns[-1] == {"role": "user", "parts": [{"text": "Greet the user in French."}]}


@pytest.mark.parametrize("params,param", [
    ({"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}]}, "response.input"),
    ({"conversation": "none"}, "response.conversation"),
    ({"output_modalities": ["audio"]}, "response.output_modalities"),
    ({"tools": [{"type": "function", "name": "f"}]}, "response.tools"),
    ({"tool_choice": "required"}, "response.tool_choice"),
    ({"max_output_tokens": 5}, "response.max_output_tokens"),
    ({"audio": {"output": {"voice": "ash"}}}, "response.audio.output.voice"),
])
def test_per_response_overrides_gemini_cannot_apply_are_rejected(params, param):
    d = text_driver()
    with pytest.raises(UnsupportedEventError) as info:
        d.client({"type": "response.create", "event_id": "r1", "response": params})
    assert info.value.param == param and info.value.event_id == "r1"
    assert d.t.resp is None


def test_per_response_overrides_equal_to_the_session_are_fine():
    d = text_driver()
    step = d.client({"type": "response.create", "response": {
        "output_modalities": ["text"], "conversation": "auto", "metadata": {"k": "v"}}})
    assert step.one("response.created")["response"]["metadata"] == {"k": "v"}


def test_function_call_output_goes_as_tool_response_at_response_create():
    d = text_driver()
    d.client({"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "function", "name": "get_weather"}]}})
    d.gemini({"setupComplete": {}}) if d.t.phase != "ready" else None
    d.client(user_text("weather in Paris?"))
    d.client({"type": "response.create"})
    step = d.gemini({"toolCall": {"functionCalls": [{"id": "fc-1", "name": "get_weather", "args": {"city": "Paris"}}]}})
    call = step.one("response.function_call_arguments.done")
    assert call["call_id"] == "fc-1" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert step.types()[-1] == "response.done"
    step = d.client({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": "fc-1", "output": '{"temp": 21}'}})
    assert step.upstream == []  # sent when the client asks for the reply
    step = d.client({"type": "response.create"})
    assert step.frames() == [{"toolResponse": {"functionResponses": [
        {"id": "fc-1", "name": "get_weather", "response": {"temp": 21}}]}}]
    assert not step.frames("clientContent")  # the tool response is the only trigger


def test_function_output_for_unknown_call_is_an_error():
    d = text_driver()
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "nope", "output": "1"}})
    assert info.value.param == "item.call_id"


def test_function_history_items():
    d = text_driver()
    d.client({"type": "conversation.item.create", "item": {
        "type": "function_call", "call_id": "h1", "name": "lookup", "arguments": '{"q": "x"}'}})
    d.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "h1", "output": "plain"}})
    d.client({"type": "response.create"})
    turns = d.log[-1].frames()[0]["clientContent"]["turns"]
    assert turns[0] == {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"q": "x"}, "id": "h1"}}]}
    assert turns[1] == {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"output": "plain"}, "id": "h1"}}]}


# ---------------------------------------------------------------------- cancel, truncate, delete, retrieve


def test_response_cancel_stops_forwarding_and_reports_cancelled():
    d = Driver()
    d.start({})
    d.client(user_text("tell me a story"))
    d.client({"type": "response.create"})
    d.gemini(gemini_audio())
    step = d.client({"type": "response.cancel"})
    done = step.one("response.done")["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "client_cancelled"
    assert done["output"][0]["status"] == "incomplete"
    # The rest of Gemini's turn is dropped.
    assert d.gemini(gemini_audio()).events == []
    assert d.gemini(transcript("more")).events == []
    assert d.gemini(TURN_COMPLETE).events == []
    # The next turn is normal again.
    d.client(user_text("again"))
    d.client({"type": "response.create"})
    assert "response.output_audio.delta" in d.gemini(gemini_audio()).types()


def test_cancel_before_gemini_started_does_not_swallow_the_next_reply():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.client(user_text("x"))
    d.client({"type": "response.create"})
    d.client({"type": "response.cancel"})  # Gemini never produced anything for it
    d.client(user_text("y"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("answer"))
    assert d.gemini(TURN_COMPLETE).one("response.done")["response"]["status"] == "completed"


def test_response_cancel_in_manual_mode_interrupts_gemini():
    d = manual()
    d.client(user_text("x"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("a"))
    step = d.client({"type": "response.cancel"})
    assert step.frames() == [{"realtimeInput": {"activityStart": {}}}]


def test_response_cancel_without_response_is_an_error():
    d = text_driver()
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "response.cancel"})
    assert info.value.code == "response_cancel_not_active"


def test_truncate_tracks_played_audio():
    d = Driver()
    d.start({})
    d.client(user_text("x"))
    d.client({"type": "response.create"})
    d.gemini(gemini_audio(200))
    d.gemini(gemini_audio(200))
    d.gemini(transcript("Hello there"))
    done = d.gemini(TURN_COMPLETE).one("response.done")["response"]
    item_id = done["output"][0]["id"]
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 900})
    assert info.value.param == "audio_end_ms"
    step = d.client({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 150})
    assert step.one("conversation.item.truncated") | {"event_id": None} == {
        "type": "conversation.item.truncated", "event_id": None, "item_id": item_id, "content_index": 0, "audio_end_ms": 150}
    retrieved = d.client({"type": "conversation.item.retrieve", "item_id": item_id}).one("conversation.item.retrieved")
    assert retrieved["item"]["content"][0]["transcript"] == ""


def test_delete_unsent_item_and_refuse_sent_one():
    d = text_driver()
    item_id = d.client(user_text("draft")).one("conversation.item.added")["item"]["id"]
    step = d.client({"type": "conversation.item.delete", "item_id": item_id})
    assert step.types() == ["conversation.item.deleted"]
    sent = d.client(user_text("kept")).one("conversation.item.added")["item"]["id"]
    d.client({"type": "response.create"})
    assert d.log[-1].frames()[0]["clientContent"]["turns"] == [{"role": "user", "parts": [{"text": "kept"}]}]
    with pytest.raises(UnsupportedEventError) as info:
        d.client({"type": "conversation.item.delete", "item_id": sent})
    assert info.value.code == "item_delete_unsupported"
    with pytest.raises(ClientEventError):
        d.client({"type": "conversation.item.retrieve", "item_id": "missing"})


def test_output_audio_buffer_clear_is_rejected():
    d = text_driver()
    with pytest.raises(UnsupportedEventError):
        d.client({"type": "output_audio_buffer.clear"})


def test_unknown_event_types_are_rejected():
    d = text_driver()
    with pytest.raises(UnsupportedEventError):
        d.client({"type": "transcription_session.update"})
