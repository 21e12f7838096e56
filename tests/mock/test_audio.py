"""Audio sessions: server VAD in audio time, manual commits, transcription, synthetic replies, G.711."""

from __future__ import annotations

import base64

import pytest

from rt_mock import audio as mock_audio

AUDIO_EVENTS_TAIL = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def decoded_audio(events, item_id=None) -> bytes:
    return b"".join(base64.b64decode(e["delta"]) for e in events
                    if e["type"] == "response.output_audio.delta" and (item_id is None or e["item_id"] == item_id))


def test_server_vad_turn_gives_the_ga_sequence_and_a_spoken_reply(mock, h):
    m = mock()
    # 500 ms of silence, 1 s of "speech", then silence until VAD (200 ms) ends the turn.
    before = m.append_audio(h.silence(500))
    assert before == []  # silence is not speech
    started = m.append_audio(h.tone(1000))
    assert h.types(started) == ["input_audio_buffer.speech_started"]
    # Speech starts at 500 ms; the reported start includes 300 ms of prefix padding.
    assert started[0]["audio_start_ms"] == 200
    turn = m.append_audio(h.silence(400))
    kinds = h.types(turn)
    assert kinds == [
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    stopped = turn[0]
    assert stopped["audio_end_ms"] == 1700  # 1500 ms of audio + 200 ms of silence
    item_id = started[0]["item_id"]
    assert stopped["item_id"] == item_id == turn[1]["item_id"] == turn[2]["item"]["id"]
    user_item = turn[3]["item"]
    assert user_item["role"] == "user" and user_item["content"] == [{"type": "input_audio", "transcript": None}]
    # The committed audio: 300 ms padding + 1000 ms speech + 200 ms silence.
    assert m.translator.conversation.get(item_id).audio_ms(0) == 1500
    assert kinds[4] == "response.created"
    reply = m.run()
    rk = h.types(reply)
    assert rk[:3] == ["response.output_item.added", "conversation.item.added", "response.content_part.added"]
    assert rk[-6:] == AUDIO_EVENTS_TAIL
    middle = rk[3:-6]
    assert middle == ["response.output_audio.delta", "response.output_audio_transcript.delta"] * (len(middle) // 2)
    transcript = "".join(e["delta"] for e in reply if e["type"] == "response.output_audio_transcript.delta")
    assert transcript == "You said: [audio 1.50s]"
    assert reply[rk.index("response.output_audio_transcript.done")]["transcript"] == transcript
    part = reply[rk.index("response.content_part.added")]["part"]
    assert part == {"type": "audio", "transcript": ""}
    done = reply[-1]["response"]
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": transcript}]
    # The reply audio is PCM16 at 24 kHz: its length follows the words.
    pcm = decoded_audio(reply)
    expected_ms = sum(mock_audio.word_duration_ms(w) for w in transcript.split())
    assert len(pcm) == expected_ms * 48
    usage = done["usage"]
    assert usage["input_token_details"]["audio_tokens"] == 15  # 1500 ms at 1 token / 100 ms
    assert usage["output_token_details"]["audio_tokens"] == -(-expected_ms // 50)  # 1 token / 50 ms, rounded up
    assert usage["output_token_details"]["text_tokens"] == -(-len(transcript) // 4)


def test_vad_timing_does_not_depend_on_how_audio_is_chunked(mock, h):
    pcm = h.silence(330) + h.tone(777) + h.silence(600)
    results = []
    for chunk_ms in (7, 20, 100, 5000):
        m = mock()
        events = m.append_audio(pcm, chunk_ms=chunk_ms)
        results.append([(e["type"], e.get("audio_start_ms"), e.get("audio_end_ms")) for e in events
                        if e["type"].startswith("input_audio_buffer.speech")])
    assert all(r == results[0] for r in results)
    assert results[0] == [("input_audio_buffer.speech_started", 30, None),
                          ("input_audio_buffer.speech_stopped", None, 1310)]


def test_quiet_noise_below_threshold_is_not_speech_but_raising_sensitivity_finds_it(mock, h):
    noise = h.tone(500, amplitude=0.003)  # about -53 dBFS
    m = mock()
    assert m.append_audio(noise) == []
    m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "threshold": 0.1}}}})
    assert h.types(m.append_audio(noise)) == ["input_audio_buffer.speech_started"]


def test_create_response_false_commits_without_replying(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
    events = m.append_audio(h.tone(300) + h.silence(300))
    assert "input_audio_buffer.committed" in h.types(events)
    assert "response.created" not in h.types(events)
    assert m.timers == {}


def test_input_transcription_events_when_configured(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"transcription": {"model": "gpt-4o-transcribe"}}}})
    events = m.append_audio(h.tone(1000) + h.silence(300))
    kinds = h.types(events)
    i = kinds.index("conversation.item.input_audio_transcription.completed")
    assert kinds[i - 1] == "conversation.item.input_audio_transcription.delta"
    assert kinds[i - 2] == "conversation.item.done" and kinds[i + 1] == "response.created"
    completed = events[i]
    # Speech from 0 ms (no room for prefix padding) + 200 ms of silence.
    assert completed["transcript"] == "[audio 1.20s]" and completed["content_index"] == 0
    assert completed["usage"]["type"] == "tokens" and completed["usage"]["input_tokens"] == 12
    # whisper-1 reports duration usage and sends no deltas.
    m2 = mock(input_transcript="call the weather tool")
    m2.send("session.update", session={"type": "realtime", "audio": {
        "input": {"transcription": {"model": "whisper-1"}}}})
    events2 = m2.append_audio(h.tone(1000) + h.silence(300))
    kinds2 = h.types(events2)
    assert "conversation.item.input_audio_transcription.delta" not in kinds2
    done = events2[kinds2.index("conversation.item.input_audio_transcription.completed")]
    assert done["transcript"] == "call the weather tool"
    assert done["usage"] == {"type": "duration", "seconds": 1.2}
    # The transcript is remembered on the item.
    item = m2.send("conversation.item.retrieve", item_id=done["item_id"])[0]["item"]
    assert item["content"][0]["transcript"] == "call the weather tool"


def test_manual_turns_need_a_commit(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    assert m.append_audio(h.tone(400) + h.silence(1000)) == []  # no VAD events at all
    out = m.send("input_audio_buffer.commit")
    assert h.types(out) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert m.translator.conversation.get(out[0]["item_id"]).audio_ms(0) == 1400
    assert m.timers == {}  # no response until asked
    # The committed audio comes back from retrieve, byte for byte.
    item = m.send("conversation.item.retrieve", item_id=out[0]["item_id"])[0]["item"]
    assert base64.b64decode(item["content"][0]["audio"]) == h.tone(400) + h.silence(1000)
    m.send("response.create")
    assert m.run()[-1]["response"]["status"] == "completed"


def test_commit_of_an_empty_or_tiny_buffer_is_the_openai_error(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    out = m.send("input_audio_buffer.commit", event_id="c1")
    assert h.types(out) == ["error"]
    assert out[0]["error"]["code"] == "input_audio_buffer_commit_empty" and out[0]["error"]["event_id"] == "c1"
    m.append_audio(h.tone(50))
    assert m.send("input_audio_buffer.commit")[0]["error"]["code"] == "input_audio_buffer_commit_empty"


def test_clear_empties_the_buffer(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    m.append_audio(h.tone(500))
    assert h.types(m.send("input_audio_buffer.clear")) == ["input_audio_buffer.cleared"]
    assert m.send("input_audio_buffer.commit")[0]["error"]["code"] == "input_audio_buffer_commit_empty"


def test_invalid_base64_and_missing_audio_are_errors(mock, h):
    m = mock()
    out = m.send("input_audio_buffer.append", event_id="a1", audio="not base64!!")
    assert h.types(out) == ["error"]
    assert (out[0]["error"]["param"], out[0]["error"]["event_id"]) == ("audio", "a1")
    out = m.send("input_audio_buffer.append", event_id="a2")
    assert out[0]["error"]["code"] == "missing_required_parameter"


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_g711_output_is_real_g711_at_8khz(mock, h, fmt):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {"output": {"format": {"type": fmt}}}})
    m.send("conversation.item.create", item={"type": "message", "role": "user",
                                             "content": [{"type": "input_text", "text": "hello"}]})
    m.send("response.create")
    events = m.run()
    data = decoded_audio(events)
    transcript = events[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert len(data) == sum(mock_audio.word_duration_ms(w) for w in transcript.split()) * 8  # 1 byte/sample
    decode = mock_audio.ulaw_decode if fmt == "audio/pcmu" else mock_audio.alaw_decode
    samples = [decode(b) for b in data]
    peak = max(abs(s) for s in samples)
    assert 8000 < peak < 12000  # the synthesiser's 0.3 full-scale voice survives companding
    assert events[-1]["response"]["audio"]["output"]["format"] == {"type": fmt}


def test_g711_input_feeds_the_vad(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}})
    pcm = h.tone(600)
    import array
    samples = array.array("h")
    samples.frombytes(pcm)
    ulaw = bytes(mock_audio.ulaw_encode(s) for s in samples[::3]) + bytes([0xFF]) * 8 * 400
    events = m.send("input_audio_buffer.append", audio=base64.b64encode(ulaw).decode())
    assert h.types(events)[:2] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
    assert events[0]["audio_start_ms"] == 0 and events[1]["audio_end_ms"] == 800


def test_g711_codecs_round_trip():
    for s in (-32768, -20000, -1000, -1, 0, 1, 100, 1000, 20000, 32767):
        for enc, dec in ((mock_audio.ulaw_encode, mock_audio.ulaw_decode),
                         (mock_audio.alaw_encode, mock_audio.alaw_decode)):
            back = dec(enc(s))
            assert abs(back - s) <= max(16, abs(s) // 16), (s, back)
    assert mock_audio.ulaw_encode(0) == 0xFF and mock_audio.alaw_encode(0) == 0xD5


def test_truncate_cuts_the_audio_and_keeps_the_words_heard(mock, h):
    m = mock()
    m.send("conversation.item.create", item={"type": "message", "role": "user",
                                             "content": [{"type": "input_text", "text": "tell me a story"}]})
    m.send("response.create")
    events = m.run()
    item = events[-1]["response"]["output"][0]
    words = item["content"][0]["transcript"].split()
    first_two_ms = mock_audio.word_duration_ms(words[0]) + mock_audio.word_duration_ms(words[1])
    out = m.send("conversation.item.truncate", item_id=item["id"], content_index=0, audio_end_ms=first_two_ms + 10)
    assert h.types(out) == ["conversation.item.truncated"]
    assert (out[0]["item_id"], out[0]["content_index"], out[0]["audio_end_ms"]) == (item["id"], 0, first_two_ms + 10)
    got = m.send("conversation.item.retrieve", item_id=item["id"])[0]["item"]
    assert got["content"][0]["transcript"] == " ".join(words[:2])
    assert len(base64.b64decode(got["content"][0]["audio"])) == (first_two_ms + 10) * 48
    # Beyond the audio, or not an audio part: errors.
    too_far = m.send("conversation.item.truncate", item_id=item["id"], content_index=0, audio_end_ms=999_999)
    assert too_far[0]["error"]["param"] == "audio_end_ms"
    bad_index = m.send("conversation.item.truncate", item_id=item["id"], content_index=3, audio_end_ms=0)
    assert bad_index[0]["error"]["param"] == "content_index"
    user_item = m.translator.conversation.entries()[0].id
    not_assistant = m.send("conversation.item.truncate", item_id=user_item, content_index=0, audio_end_ms=0)
    assert not_assistant[0]["type"] == "error" and not_assistant[0]["error"]["param"] == "item_id"


def test_semantic_vad_uses_eagerness_for_the_silence(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}})
    events = m.append_audio(h.tone(500) + h.silence(1000))
    stopped = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    assert stopped[0]["audio_end_ms"] == 500 + 400


def test_idle_timeout_prompts_the_user(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "output_modalities": ["text"], "audio": {
        "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 6000}}}})
    m.send("conversation.item.create", item={"type": "message", "role": "user",
                                             "content": [{"type": "input_text", "text": "hi"}]})
    m.send("response.create")
    m.run(until=lambda e: e["type"] == "response.done")
    assert "mock.idle_timeout" in m.timers
    m.append_audio(h.silence(200))
    events = m.run(until=lambda e: e["type"] == "response.created")
    kinds = h.types(events)
    assert kinds[:5] == ["input_audio_buffer.timeout_triggered", "input_audio_buffer.committed",
                         "conversation.item.added", "conversation.item.done", "response.created"]
    assert events[0]["audio_end_ms"] == 200
    rest = m.run(until=lambda e: e["type"] == "response.done")
    assert rest[-1]["response"]["output"][0]["content"][0]["text"] == "Are you still there?"


def test_a_vad_reply_that_cannot_start_still_reports_the_committed_turn(mock, h):
    m = mock()
    m.send("session.update", session={"type": "realtime", "tool_choice": {"type": "function", "name": "missing"}})
    events = m.append_audio(h.tone(300) + h.silence(300))
    assert h.types(events) == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                               "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
                               "error"]
    assert events[-1]["error"]["param"] == "tool_choice" and events[-1]["error"]["event_id"] is None
    assert m.translator.active is None
