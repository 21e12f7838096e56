"""Unit tests of the Nova Sonic translator: one mapping of the issue per test.

Every client-bound event is validated against the openai SDK's GA server-event
union (``client_events``); Nova-bound events are read back as JSON.
"""

from __future__ import annotations

import base64
import json

import pytest

from rt_core import ClientEventError, TimerFired, UnsupportedEventError, UpstreamOpened
from rt_bedrock.control import (
    DropStream,
    NovaError,
    OpenStream,
    PromoteStream,
    StreamError,
    StreamFailed,
    StreamOpened,
)
from rt_bedrock.translator import error_for

from .conftest import (
    NOVA1,
    FakeClock,
    NovaOut,
    client_events,
    closes,
    controls,
    ev,
    feed,
    make_translator,
    nova_events,
    nova_names,
    schedules,
    silence_b64,
    tone_b64,
    types,
)


def opened(tr):
    return tr.outbound(UpstreamOpened())


def test_session_created_is_a_full_ga_session_and_schedules_continuation():
    tr = make_translator(continuation_after_s=30)
    actions = opened(tr)
    (created,) = client_events(actions)
    assert created["type"] == "session.created"
    s = created["session"]
    assert s["type"] == "realtime" and s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert [x.delay for x in schedules(actions)] == [30]
    # Nothing goes to Nova before the conversation starts (the prompt is lazy).
    assert nova_events(actions) == []


def test_first_stream_starts_with_session_start_from_settings():
    tr = make_translator(max_tokens=500, temperature=0.3, top_p=0.8, endpointing_sensitivity="LOW")
    (first,) = [json.loads(e) for e in tr.first_stream_events()]
    ss = first["event"]["sessionStart"]
    assert ss["inferenceConfiguration"] == {"maxTokens": 500, "topP": 0.8, "temperature": 0.3}
    assert ss["turnDetectionConfiguration"] == {"endpointingSensitivity": "LOW"}
    # Nova Sonic v1 has no turn-detection configuration.
    v1 = json.loads(make_translator(NOVA1, endpointing_sensitivity="LOW").first_stream_events()[0])
    assert "turnDetectionConfiguration" not in v1["event"]["sessionStart"]


def test_instructions_voice_and_tools_shape_the_prompt():
    tr = make_translator()
    opened(tr)
    client_events(tr.inbound(ev("session.update", session={
        "type": "realtime", "instructions": "Be brief.",
        "audio": {"output": {"voice": "marin"}},
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather for a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                  {"type": "function", "name": "ping"}],
        "tool_choice": "required",
    })))
    actions = tr.inbound(ev("input_audio_buffer.append", audio=silence_b64(40)))
    events = nova_events(actions)
    assert nova_names(actions) == ["promptStart", "contentStart", "textInput", "contentEnd", "contentStart", "audioInput"]
    ps = events[0]["event"]["promptStart"]
    assert ps["audioOutputConfiguration"]["voiceId"] == "tiffany"
    assert ps["audioOutputConfiguration"]["sampleRateHertz"] == 24000
    tools = ps["toolConfiguration"]["tools"]
    # The JSON schema travels as a string, as Nova requires.
    assert isinstance(tools[0]["toolSpec"]["inputSchema"]["json"], str)
    assert json.loads(tools[0]["toolSpec"]["inputSchema"]["json"])["required"] == ["city"]
    assert json.loads(tools[1]["toolSpec"]["inputSchema"]["json"]) == {"type": "object", "properties": {}}
    assert ps["toolConfiguration"]["toolChoice"] == {"any": {}}
    system = events[1]["event"]["contentStart"]
    assert system["role"] == "SYSTEM" and system["interactive"] is False
    assert events[2]["event"]["textInput"]["content"] == "Be brief."
    audio_start = events[4]["event"]["contentStart"]
    assert audio_start["type"] == "AUDIO" and audio_start["interactive"] is True
    assert audio_start["audioInputConfiguration"]["sampleRateHertz"] == 16000


def test_tool_choice_none_sends_no_tools():
    tr = make_translator()
    tr.inbound(ev("session.update", session={"type": "realtime", "tool_choice": "none",
                                             "tools": [{"type": "function", "name": "x"}]}))
    ps = nova_events(tr.inbound(ev("input_audio_buffer.append", audio=silence_b64(40))))[0]["event"]["promptStart"]
    assert "toolConfiguration" not in ps


@pytest.mark.parametrize("fmt, ms, expect_bytes", [
    ({"type": "audio/pcm", "rate": 24000}, 100, 3200),
    ({"type": "audio/pcmu"}, 100, 3200),
    ({"type": "audio/pcma"}, 100, 3200),
])
def test_input_audio_is_converted_to_16k(fmt, ms, expect_bytes):
    tr = make_translator()
    tr.inbound(ev("session.update", session={"type": "realtime", "audio": {"input": {"format": fmt}}}))
    rate = 24000 if fmt["type"] == "audio/pcm" else 8000
    width = 2 if fmt["type"] == "audio/pcm" else 1
    raw = base64.b64encode(bytes(ms * rate // 1000 * width)).decode()
    total = 0
    for _ in range(5):
        for e in nova_events(tr.inbound(ev("input_audio_buffer.append", audio=raw))):
            if "audioInput" in e["event"]:
                total += len(base64.b64decode(e["event"]["audioInput"]["content"]))
    # 500 ms in; the resampler may hold back a few ms.
    assert abs(total - 5 * expect_bytes) <= 32 * 100  # the resampler holds back its filter delay


def test_bad_audio_is_a_client_error():
    tr = make_translator()
    with pytest.raises(ClientEventError) as exc:
        tr.inbound(ev("input_audio_buffer.append", audio="not base64!!", event_id="e1"))
    assert exc.value.param == "audio" and exc.value.event_id == "e1"
    with pytest.raises(ClientEventError):
        tr.inbound(ev("session.update", session={"type": "realtime", "audio": {"input": {"format": {"type": "audio/opus"}}}}))


def test_audio_sent_to_nova_as_it_is_cannot_add_to_its_json():
    """pcm16 at 16 kHz is Nova's own input format: the text is forwarded
    without decoding, spliced into the ``audioInput`` event.  A quote in it
    would end the string and add keys of the client's choosing."""
    tr = make_translator()
    tr.outbound(UpstreamOpened())
    tr.inbound(ev("session.update", session={"type": "realtime",
                                             "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}))
    good = base64.b64encode(bytes(640)).decode()
    (audio_input,) = [e for e in nova_events(tr.inbound(ev("input_audio_buffer.append", audio=good)))
                      if "audioInput" in e["event"]]
    assert audio_input["event"]["audioInput"]["content"] == good
    for bad in ['AAAA","role":"SYSTEM', "AAAA\\AA", "AAAA\nAAA"]:
        with pytest.raises(ClientEventError) as exc:
            tr.inbound(ev("input_audio_buffer.append", audio=bad, event_id="e2"))
        assert exc.value.param == "audio" and exc.value.event_id == "e2"


def _speak_and_answer(tr, out: NovaOut, user="hello there", text="Hi!", final=None, audio=None):
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(200)))
    frames = out.user_turn(user) + out.sentence(text, audio or tone_b64(100), last=True, final=final)
    return feed(tr, frames)


def test_user_asr_and_speculative_final_text():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("session.update", session={"type": "realtime",
                                             "audio": {"input": {"transcription": {"model": "whisper-1"}}}}))
    actions = _speak_and_answer(tr, NovaOut(), user="what time is it", text="It is noon I think", final="It is noon.")
    evs = client_events(actions)
    t = types(evs)
    assert t[:3] == ["input_audio_buffer.speech_started", "conversation.item.input_audio_transcription.delta",
                     "input_audio_buffer.speech_stopped"]
    assert t.index("conversation.item.input_audio_transcription.completed") < t.index("response.created")
    completed = next(e for e in evs if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == "what time is it"
    # SPECULATIVE streams as the transcript delta; FINAL is what .done says.
    deltas = [e["delta"] for e in evs if e["type"] == "response.output_audio_transcript.delta"]
    assert deltas == ["It is noon I think"]
    done = next(e for e in evs if e["type"] == "response.output_audio_transcript.done")
    assert done["transcript"] == "It is noon."
    assert t[-1] == "response.done"
    resp = evs[-1]["response"]
    assert resp["status"] == "completed" and resp["output"][0]["content"][0]["transcript"] == "It is noon."
    order = [x for x in t if x.startswith("response.")]
    assert order[:4] == ["response.created", "response.output_item.added", "response.content_part.added",
                         "response.output_audio_transcript.delta"]
    assert order[-4:] == ["response.output_audio_transcript.done", "response.content_part.done",
                          "response.output_item.done", "response.done"]


def test_no_transcription_events_unless_configured_but_item_has_transcript():
    tr = make_translator()
    opened(tr)
    evs = client_events(_speak_and_answer(tr, NovaOut(), user="hi"))
    assert not any("transcription" in e["type"] for e in evs)
    item = next(e["item"] for e in evs if e["type"] == "conversation.item.added" and e["item"]["role"] == "user")
    assert item["content"][0]["transcript"] == "hi"


def test_output_audio_24k_is_mapped_to_the_clients_format():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("session.update", session={"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}}))
    evs = client_events(_speak_and_answer(tr, NovaOut(), audio=tone_b64(200)))
    audio = b"".join(base64.b64decode(e["delta"]) for e in evs if e["type"] == "response.output_audio.delta")
    # 200 ms of 24 kHz pcm16 (9600 B) → 200 ms of 8 kHz μ-law (1600 B), tail flushed at the block end.
    assert abs(len(audio) - 1600) <= 16
    created = next(e for e in evs if e["type"] == "response.created")
    assert created["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


def test_output_audio_that_cannot_be_spliced_into_json_is_dropped_and_logged(caplog):
    tr = make_translator()
    opened(tr)
    evs = client_events(_speak_and_answer(tr, NovaOut(), audio='AAAA","x":"y'))
    assert not [e for e in evs if e["type"] == "response.output_audio.delta"]
    assert evs[-1]["type"] == "response.done"
    assert "Nova Sonic sent audio that is not valid base64; dropped" in caplog.text


def test_text_only_output_drops_audio_and_streams_text():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("session.update", session={"type": "realtime", "output_modalities": ["text"]}))
    evs = client_events(_speak_and_answer(tr, NovaOut(), text="Hello", final="Hello."))
    t = types(evs)
    assert "response.output_audio.delta" not in t
    assert [e["delta"] for e in evs if e["type"] == "response.output_text.delta"] == ["Hello"]
    assert next(e for e in evs if e["type"] == "response.output_text.done")["text"] == "Hello."


def test_multi_sentence_response_ends_only_after_last_final():
    tr = make_translator()
    opened(tr)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    frames = out.user_turn("tell me") + out.sentence("One.", tone_b64(40), last=False) + out.sentence("Two.", tone_b64(40))
    evs = client_events(feed(tr, frames[:-3]))
    assert "response.done" not in types(evs)
    evs = client_events(feed(tr, frames[-3:]))
    assert types(evs)[-1] == "response.done"
    assert evs[-1]["response"]["output"][0]["content"][0]["transcript"] == "One. Two."


def test_tool_use_becomes_a_function_call_and_the_result_a_tool_block():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("session.update", session={"type": "realtime", "tools": [{"type": "function", "name": "get_weather"}]}))
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    cid, start = out.start("TOOL", "TOOL")
    frames = out.user_turn("weather in Paris?") + [start, out.tool(cid, "get_weather", "tu-1", '{"city":"Paris"}'),
                                                   out.end(cid, "TOOL_USE", "TOOL")]
    evs = client_events(feed(tr, frames))
    t = types(evs)
    assert "response.function_call_arguments.done" in t and t[-1] == "response.done"
    done = next(e for e in evs if e["type"] == "response.function_call_arguments.done")
    assert (done["call_id"], done["name"], done["arguments"]) == ("tu-1", "get_weather", '{"city":"Paris"}')
    assert evs[-1]["response"]["output"][0]["type"] == "function_call"
    # The client answers; Nova gets a TOOL block and continues by itself.
    actions = tr.inbound(ev("conversation.item.create", item={"type": "function_call_output", "call_id": "tu-1",
                                                              "output": '{"temp": 21}'}))
    nova = nova_events(actions)
    assert [next(iter(e["event"])) for e in nova] == ["contentStart", "toolResult", "contentEnd"]
    cs = nova[0]["event"]["contentStart"]
    assert cs["type"] == "TOOL" and cs["role"] == "TOOL"
    assert cs["toolResultInputConfiguration"]["toolUseId"] == "tu-1"
    assert nova[1]["event"]["toolResult"]["content"] == '{"temp": 21}'
    assert "conversation.item.added" in types(client_events(actions))
    # response.create afterwards is absorbed, not an error and not a second trigger.
    assert tr.inbound(ev("response.create", response={"metadata": {"k": "v"}})) == []
    evs = client_events(feed(tr, out.sentence("It is 21 degrees.", tone_b64(40))))
    assert evs[0]["type"] == "response.created" and evs[0]["response"]["metadata"] == {"k": "v"}
    # Unknown call ids are refused.
    with pytest.raises(ClientEventError):
        tr.inbound(ev("conversation.item.create", item={"type": "function_call_output", "call_id": "nope", "output": "x"}))


@pytest.mark.parametrize("form", ["marker", "stop_reason"])
def test_barge_in_is_speech_started_then_cancelled_response(form):
    tr = make_translator()
    opened(tr)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    c1, s1 = out.start("TEXT", "ASSISTANT", "SPECULATIVE")
    c2, s2 = out.start("AUDIO", "ASSISTANT")
    frames = out.user_turn("talk") + [s1, out.text(c1, "A long story"), out.end(c1, "PARTIAL_TURN"), s2,
                                      out.audio(c2, tone_b64(40))]
    client_events(feed(tr, frames))
    if form == "marker":
        c3, s3 = out.start("TEXT", "ASSISTANT", "FINAL")
        barge = [out.end(c2, "PARTIAL_TURN", "AUDIO"), s3, out.text(c3, '{ "interrupted" : true }')]
    else:
        barge = [out.end(c2, "INTERRUPTED", "AUDIO")]
    evs = client_events(feed(tr, barge))
    t = types(evs)
    assert t[0] == "input_audio_buffer.speech_started"
    assert t[-1] == "response.done"
    assert evs[-1]["response"]["status"] == "cancelled"
    assert evs[-1]["response"]["status_details"]["reason"] == "turn_detected"
    # The rest of the interrupted turn is dropped; the user's turn then proceeds.
    c4, s4 = out.start("TEXT", "ASSISTANT", "FINAL")
    assert client_events(feed(tr, [s4, out.text(c4, "A long"), out.end(c4, "INTERRUPTED")])) == []
    evs = client_events(feed(tr, out.user_turn("stop") + out.sentence("OK.", tone_b64(40))))
    assert types(evs).count("input_audio_buffer.speech_started") == 0  # already announced
    assert "input_audio_buffer.speech_stopped" in types(evs) and types(evs)[-1] == "response.done"


def test_response_cancel_is_emulated():
    tr = make_translator()
    opened(tr)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    c1, s1 = out.start("TEXT", "ASSISTANT", "SPECULATIVE")
    client_events(feed(tr, out.user_turn("hi") + [s1, out.text(c1, "Hello")]))
    evs = client_events(tr.inbound(ev("response.cancel")))
    assert types(evs)[-1] == "response.done"
    assert evs[-1]["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    # Nova goes on with that turn; none of it reaches the client.
    assert client_events(feed(tr, [out.end(c1, "PARTIAL_TURN")] + out.sentence("More.", tone_b64(40)))) == []
    with pytest.raises(ClientEventError) as exc:
        tr.inbound(ev("response.cancel"))
    assert exc.value.code == "response_cancel_not_active"


def test_usage_is_cumulative_upstream_and_per_response_downstream():
    tr = make_translator()
    opened(tr)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    evs = client_events(feed(tr, out.user_turn("a") + [out.usage(10, 0, 5, 2)] + out.sentence("A.", tone_b64(40))))
    u1 = evs[-1]["response"]["usage"]
    assert (u1["input_tokens"], u1["output_tokens"], u1["total_tokens"]) == (10, 7, 17)
    assert u1["input_token_details"]["audio_tokens"] == 10 and u1["output_token_details"]["text_tokens"] == 2
    evs = client_events(feed(tr, out.user_turn("b") + [out.usage(25, 0, 9, 3)] + out.sentence("B.", tone_b64(40))))
    u2 = evs[-1]["response"]["usage"]
    assert (u2["input_tokens"], u2["output_tokens"]) == (15, 5)


def test_text_turns_on_nova2_and_a_clear_error_on_v1():
    tr = make_translator()
    opened(tr)
    client_events(tr.inbound(ev("conversation.item.create", item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello?"}]})))
    actions = tr.inbound(ev("response.create"))
    nova = nova_events(actions)
    names = [next(iter(e["event"])) for e in nova]
    assert names[0] == "promptStart" and names[-3:] == ["contentStart", "textInput", "contentEnd"]
    assert nova[-3]["event"]["contentStart"]["interactive"] is True
    assert nova[-2]["event"]["textInput"]["content"] == "Hello?"
    # The echo of the text as USER ASR is not a spoken user turn.
    out = NovaOut()
    evs = client_events(feed(tr, out.user_turn("Hello?") + out.sentence("Hi.", tone_b64(40))))
    assert "input_audio_buffer.speech_started" not in types(evs) and types(evs)[-1] == "response.done"

    v1 = make_translator(NOVA1)
    opened(v1)
    v1.inbound(ev("conversation.item.create", item={"type": "message", "role": "user",
                                                    "content": [{"type": "input_text", "text": "Hi"}]}))
    with pytest.raises(UnsupportedEventError, match="nova-2-sonic"):
        v1.inbound(ev("response.create"))


def test_history_items_before_audio_are_non_interactive_blocks():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("conversation.item.create", item={"type": "message", "role": "user",
                                                    "content": [{"type": "input_text", "text": "My name is Ada."}]}))
    tr.inbound(ev("conversation.item.create", item={"type": "message", "role": "assistant",
                                                    "content": [{"type": "output_text", "text": "Hi Ada."}]}))
    nova = nova_events(tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(40))))
    blocks = [e["event"]["contentStart"] for e in nova if "contentStart" in e["event"]]
    assert [(b["role"], b["interactive"]) for b in blocks] == [("SYSTEM", False), ("ASSISTANT", False),
                                                                ("USER", False), ("USER", True)]


def test_response_create_with_nothing_to_answer_is_a_clear_error():
    tr = make_translator()
    opened(tr)
    with pytest.raises(UnsupportedEventError, match="only answers user input"):
        tr.inbound(ev("response.create"))


def test_commit_pads_silence_and_absorbs_the_following_response_create():
    tr = make_translator(commit_silence_ms=500)
    opened(tr)
    with pytest.raises(ClientEventError) as exc:
        tr.inbound(ev("input_audio_buffer.commit"))
    assert exc.value.code == "input_audio_buffer_commit_empty"
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    nova = nova_events(tr.inbound(ev("input_audio_buffer.commit")))
    pcm = b"".join(base64.b64decode(e["event"]["audioInput"]["content"]) for e in nova)
    assert len(pcm) >= 500 * 32 and pcm[-500 * 32:] == bytes(500 * 32)
    assert tr.inbound(ev("response.create")) == []


def test_unsupported_and_malformed_client_events():
    tr = make_translator()
    with pytest.raises(UnsupportedEventError):
        tr.inbound(ev("session.update", session={"type": "transcription"}))
    with pytest.raises(UnsupportedEventError):
        tr.inbound(ev("session.update", session={"type": "realtime", "tools": [{"type": "mcp", "server_label": "x"}]}))
    with pytest.raises(ClientEventError):
        tr.inbound(ev("session.update", session={"type": "realtime", "output_modalities": ["video"]}))
    with pytest.raises(UnsupportedEventError):
        tr.inbound(ev("conversation.item.create", item={"type": "message", "role": "user",
                                                        "content": [{"type": "input_image", "image_url": "x"}]}))
    with pytest.raises(ClientEventError):
        tr.inbound(ev("conversation.item.retrieve", item_id="missing"))
    with pytest.raises(ClientEventError):
        tr.inbound(ev("no.such.event"))
    with pytest.raises(UnsupportedEventError):
        tr.inbound(ev("output_audio_buffer.clear"))


def test_item_retrieve_delete_truncate():
    tr = make_translator()
    opened(tr)
    tr.inbound(ev("conversation.item.create", item={"id": "item_a", "type": "message", "role": "assistant",
                                                    "content": [{"type": "output_text", "text": "x"}]}))
    assert types(client_events(tr.inbound(ev("conversation.item.retrieve", item_id="item_a")))) == ["conversation.item.retrieved"]
    assert types(client_events(tr.inbound(ev("conversation.item.truncate", item_id="item_a", content_index=0,
                                             audio_end_ms=100)))) == ["conversation.item.truncated"]
    assert types(client_events(tr.inbound(ev("conversation.item.delete", item_id="item_a")))) == ["conversation.item.deleted"]
    with pytest.raises(ClientEventError):
        tr.inbound(ev("conversation.item.delete", item_id="item_a"))


# --------------------------------------------------------------------------- continuation


def _started(clock, **kw):
    tr = make_translator(clock=clock, continuation_after_s=10, continuation_deadline_s=20, **kw)
    opened(tr)
    return tr


def test_continuation_opens_next_stream_and_promotes_at_turn_boundary():
    clock = FakeClock()
    tr = _started(clock)
    out = NovaOut()
    tr.inbound(ev("session.update", session={"type": "realtime", "instructions": "Be nice."}))
    client_events(_speak_and_answer(tr, out, user="first question", text="First answer."))
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))  # the user starts again
    clock.now += 10
    actions = tr.inbound(TimerFired("bedrock.continue"))
    (op,) = controls(actions, OpenStream)
    assert op.gen == 1 and "sessionStart" in op.events[0]
    assert [s.delay for s in schedules(actions)] == [10]  # deadline
    # Opened while idle: promote at once with the conversation as history.
    actions = tr.outbound(StreamOpened(1))
    (pr,) = controls(actions, PromoteStream)
    assert pr.gen == 1 and tr.gen == 1
    seed = [json.loads(e) for e in pr.events]
    names = [next(iter(e["event"])) for e in seed]
    assert names[0] == "promptStart" and "audioInput" in names
    texts = [e["event"]["textInput"]["content"] for e in seed if "textInput" in e["event"]]
    assert texts == ["Be nice.", "first question", "First answer."]
    # Only the audio not yet answered is replayed (100 ms at 16 kHz).
    replay = b"".join(base64.b64decode(e["event"]["audioInput"]["content"]) for e in seed if "audioInput" in e["event"])
    assert 2800 <= len(replay) <= 3200
    close = [next(iter(json.loads(e)["event"])) for e in pr.close_events]
    assert close == ["contentEnd", "promptEnd", "sessionEnd"]
    # Later audio goes to the new stream; the clock restarts.
    a = tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(40)))
    assert {x.frame.gen for x in a if hasattr(x, "frame")} == {1}
    assert client_events(actions) == []  # the client sees nothing of the hand-over


def test_continuation_waits_for_the_response_to_finish():
    clock = FakeClock()
    tr = _started(clock)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    c1, s1 = out.start("TEXT", "ASSISTANT", "SPECULATIVE")
    feed(tr, out.user_turn("q") + [s1, out.text(c1, "Answer"), out.end(c1, "PARTIAL_TURN")])
    tr.inbound(TimerFired("bedrock.continue"))
    assert controls(tr.outbound(StreamOpened(1)), PromoteStream) == []
    c2, s2 = out.start("AUDIO", "ASSISTANT")
    c3, s3 = out.start("TEXT", "ASSISTANT", "FINAL")
    actions = feed(tr, [s2, out.audio(c2, tone_b64(40)), out.end(c2, "END_TURN", "AUDIO"), s3,
                        out.text(c3, "Answer."), out.end(c3, "END_TURN")])
    assert types(client_events(actions))[-1] == "response.done"
    assert len(controls(actions, PromoteStream)) == 1


def test_deadline_forces_the_hand_over_mid_response():
    clock = FakeClock()
    tr = _started(clock)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    c1, s1 = out.start("TEXT", "ASSISTANT", "SPECULATIVE")
    feed(tr, out.user_turn("q") + [s1, out.text(c1, "Answer")])
    tr.inbound(TimerFired("bedrock.continue"))
    tr.outbound(StreamOpened(1))
    actions = tr.inbound(TimerFired("bedrock.handover_deadline"))
    evs = client_events(actions)
    assert evs[-1]["type"] == "response.done" and evs[-1]["response"]["status"] == "incomplete"
    assert len(controls(actions, PromoteStream)) == 1


def test_failed_next_stream_is_retried_later():
    clock = FakeClock()
    tr = _started(clock)
    tr.inbound(TimerFired("bedrock.continue"))
    actions = tr.outbound(StreamFailed(1, NovaError("ThrottlingException", "slow down")))
    assert [s.signal.name for s in schedules(actions)] == ["bedrock.handover_retry"]
    (op,) = controls(tr.inbound(TimerFired("bedrock.handover_retry")), OpenStream)
    assert op.gen == 2


def test_session_update_after_prompt_start_hands_over_with_the_new_prompt():
    tr = make_translator(continuation_after_s=0)
    opened(tr)
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(40)))
    actions = tr.inbound(ev("session.update", session={"type": "realtime", "audio": {"output": {"voice": "amy"}}}))
    assert types(client_events(actions)) == ["session.updated"]
    (op,) = controls(actions, OpenStream)
    (pr,) = controls(tr.outbound(StreamOpened(op.gen)), PromoteStream)
    ps = json.loads(pr.events[0])["event"]["promptStart"]
    assert ps["audioOutputConfiguration"]["voiceId"] == "amy"


def test_recoverable_stream_error_recovers_on_a_new_stream():
    tr = make_translator()
    opened(tr)
    out = NovaOut()
    tr.inbound(ev("input_audio_buffer.append", audio=tone_b64(100)))
    c1, s1 = out.start("TEXT", "ASSISTANT", "SPECULATIVE")
    feed(tr, out.user_turn("q") + [s1, out.text(c1, "Ans")])
    actions = tr.outbound(StreamError(0, NovaError("ModelTimeoutException", "model timed out")))
    evs = client_events(actions)
    assert evs[-1]["type"] == "response.done" and evs[-1]["response"]["status"] == "incomplete"
    assert closes(actions) == []
    (op,) = controls(actions, OpenStream)
    (pr,) = controls(tr.outbound(StreamOpened(op.gen)), PromoteStream)
    assert pr.close_events == ()  # the dead stream is not talked to


def test_fatal_stream_error_is_a_clear_error_and_close():
    tr = make_translator()
    opened(tr)
    actions = tr.outbound(StreamError(0, NovaError("ValidationException", "Invalid input: bad")))
    (close,) = closes(actions)
    assert close.code == 1011 and close.error["code"] == "upstream_validation_error"
    assert "Invalid input: bad" in close.error["message"]


def test_recovery_gives_up_after_repeated_failures():
    tr = make_translator()
    opened(tr)
    actions = tr.outbound(StreamError(0, NovaError("ServiceUnavailableException", "down")))
    for _ in range(3):
        (op,) = controls(actions, OpenStream)
        actions = tr.outbound(StreamFailed(op.gen, NovaError("ServiceUnavailableException", "down")))
        if closes(actions):
            break
    (close,) = closes(actions)
    assert close.code == 1013 and close.error["code"] == "upstream_unavailable"


@pytest.mark.parametrize("kind, code", [
    ("ThrottlingException", "rate_limit_exceeded"), ("ModelTimeoutException", "upstream_timeout"),
    ("ServiceUnavailableException", "upstream_unavailable"), ("ValidationException", "upstream_validation_error"),
])
def test_error_mapping(kind, code):
    err, _ = error_for(NovaError(kind, "m"))
    assert err["code"] == code and err["message"] == f"Amazon Bedrock {kind}: m"


def test_unreadable_nova_frame_is_reported_not_fatal():
    tr = make_translator()
    evs = client_events(tr.outbound(b"garbage"))
    assert evs[0]["type"] == "error" and evs[0]["error"]["code"] == "upstream_protocol_error"


@pytest.mark.parametrize("frame", [
    b'{"event":{"textOutput":{"content":"\\ud800","role":"ASSISTANT"}}}',
    b'{"event":{"textOutput":' + b"[" * 300 + b"]" * 300 + b"}}",
])
def test_nova_frame_rt_could_parse_but_not_relay_is_reported_not_fatal(frame):
    tr = make_translator()
    evs = client_events(tr.outbound(frame))
    assert evs[0]["type"] == "error" and evs[0]["error"]["code"] == "upstream_protocol_error"


def test_drop_stream_when_closing_during_a_hand_over():
    tr = make_translator(continuation_after_s=5)
    opened(tr)
    tr.inbound(TimerFired("bedrock.continue"))
    actions = tr.outbound(StreamError(0, NovaError("AccessDeniedException", "no")))
    assert controls(actions, DropStream)[0].gen == 1 and closes(actions)
