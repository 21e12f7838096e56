"""Cancelling responses mid-stream: response.cancel, and interruption by new speech."""

from __future__ import annotations

from rt_mock.translator import STEP_TIMER

LONG = "one two three four five six seven eight nine ten"


def user_text(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_responses_stream_over_time_at_the_configured_pace(mock):
    m = mock(reply_delay_ms=150, delta_interval_ms=20)
    m.send("conversation.item.create", item=user_text(LONG))
    m.send("response.create")
    assert m.timers[STEP_TIMER][0] == 0.15
    times = []
    while m.timers:
        m.fire_next()
        times.append(round(m.now, 3))
    assert times[0] == 0.15 and times[1] == 0.17 and len(times) == 12  # one word per step


def test_realtime_pacing_waits_as_long_as_each_word_lasts(mock):
    m = mock(realtime_pacing=True)
    m.send("conversation.item.create", item=user_text("hi"))
    m.send("response.create")
    m.fire_next()  # first word "You": 60 + 3*60 + 60 ms of audio
    assert round(m.timers[STEP_TIMER][0] - m.now, 3) == 0.3


def test_client_cancel_mid_stream(mock, h):
    m = mock()
    m.send("conversation.item.create", item=user_text(LONG))
    rid = m.send("response.create")[0]["response"]["id"]
    m.fire_next()
    m.fire_next()
    m.fire_next()
    out = m.send("response.cancel", event_id="c")
    assert h.types(out) == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert out[1]["transcript"] == "You said: one"
    done = out[-1]["response"]
    assert done["id"] == rid and done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"
    assert done["output"][0]["content"][0]["transcript"] == "You said: one"
    assert done["usage"]["output_token_details"]["audio_tokens"] > 0
    assert STEP_TIMER not in m.timers  # nothing more will be streamed
    assert m.run() == []
    # The conversation keeps the partial item; a new response can start.
    assert h.types(m.send("response.create"))[0] == "response.created"


def test_cancel_before_the_first_delta_has_no_output(mock, h):
    m = mock(reply_delay_ms=500)
    m.send("conversation.item.create", item=user_text("hi"))
    m.send("response.create")
    out = m.send("response.cancel")
    assert h.types(out) == ["response.done"]
    assert out[0]["response"]["output"] == [] and out[0]["response"]["status"] == "cancelled"


def test_cancel_with_nothing_active_is_the_openai_error(mock, h):
    m = mock()
    out = m.send("response.cancel", event_id="c0")
    assert h.types(out) == ["error"]
    assert (out[0]["error"]["code"], out[0]["error"]["event_id"]) == ("response_cancel_not_active", "c0")
    m.send("conversation.item.create", item=user_text("hi"))
    m.send("response.create")
    wrong = m.send("response.cancel", response_id="resp_other")
    assert wrong[0]["error"]["code"] == "response_cancel_not_active"
    m.run()
    assert m.send("response.cancel")[0]["error"]["code"] == "response_cancel_not_active"


def test_new_speech_interrupts_the_reply(mock, h):
    m = mock()
    m.append_audio(h.tone(500) + h.silence(300))
    for _ in range(3):
        m.fire_next()
    out = m.append_audio(h.tone(100))
    kinds = h.types(out)
    assert kinds[0] == "input_audio_buffer.speech_started"
    assert kinds[-1] == "response.done"
    done = out[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    # The user's new turn then gets its own reply.
    turn = m.append_audio(h.silence(300))
    assert h.types(turn)[-1] == "response.created"
    assert m.run()[-1]["response"]["status"] == "completed"


def test_interrupt_response_false_lets_the_reply_finish(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}}})
    m.append_audio(h.tone(500) + h.silence(300))
    m.fire_next()
    out = m.append_audio(h.tone(100) + h.silence(300))
    assert "response.done" not in h.types(out)
    assert "response.created" not in h.types(out)  # busy: no second reply
    assert m.run()[-1]["response"]["status"] == "completed"


def test_out_of_band_responses_are_not_interrupted_by_speech(mock, h):
    m = mock()
    m.send("response.create", response={"conversation": "none", "input": [user_text(LONG)]})
    m.fire_next()
    out = m.append_audio(h.tone(100))
    assert h.types(out) == ["input_audio_buffer.speech_started"]
    assert m.run()[-1]["response"]["status"] == "completed"
