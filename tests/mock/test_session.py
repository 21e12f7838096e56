"""session.created / session.update: the GA session object and its validation."""

from __future__ import annotations

import pytest


def test_session_created_is_first_and_complete(mock):
    m = mock()
    assert [e["type"] for e in m.created] == ["session.created"]
    session = m.created[0]["session"]
    assert session["type"] == "realtime"
    assert session["object"] == "realtime.session"
    assert session["id"] == "sess_test"
    assert session["model"] == "mock"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"]["voice"] == "marin"
    td = session["audio"]["input"]["turn_detection"]
    assert td == {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200,
                  "idle_timeout_ms": None, "create_response": True, "interrupt_response": True}
    assert session["tools"] == [] and session["tool_choice"] == "auto"
    assert session["max_output_tokens"] == "inf"


def test_session_created_is_sent_once_even_if_a_client_event_comes_first(mock):
    m = mock()
    again = m.translator.outbound(__import__("rt_core").UpstreamOpened())
    assert again == []
    assert [e["type"] for e in m.events].count("session.created") == 1


def test_configured_instructions_appear_in_session_created(mock):
    m = mock(instructions="Be brief.")
    assert m.created[0]["session"]["instructions"] == "Be brief."


def test_update_merges_and_returns_the_full_session(mock, h):
    m = mock()
    out = m.send("session.update", event_id="evt_1", session={
        "type": "realtime",
        "instructions": "Talk like a pirate.",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 700}},
                  "output": {"voice": "cedar"}},
    })
    assert h.types(out) == ["session.updated"]
    s = out[0]["session"]
    assert s["instructions"] == "Talk like a pirate."
    assert s["audio"]["output"]["voice"] == "cedar"
    assert s["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}  # untouched sibling kept
    td = s["audio"]["input"]["turn_detection"]
    assert td["silence_duration_ms"] == 700 and td["threshold"] == 0.5 and td["create_response"] is True
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert s["output_modalities"] == ["audio"]


def test_update_can_switch_off_turn_detection_and_set_g711(mock):
    m = mock()
    s = m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None},
        "output": {"format": {"type": "audio/pcma"}}}})[0]["session"]
    assert s["audio"]["input"]["turn_detection"] is None
    assert s["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert s["audio"]["output"]["format"] == {"type": "audio/pcma"}


def test_semantic_vad_gets_its_own_defaults(mock):
    m = mock()
    s = m.send("session.update", session={"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}})[0]["session"]
    assert s["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad", "eagerness": "high", "create_response": True, "interrupt_response": True}


def test_beta_style_both_modalities_mean_audio(mock):
    m = mock()
    s = m.send("session.update", session={"type": "realtime", "output_modalities": ["text", "audio"]})[0]["session"]
    assert s["output_modalities"] == ["audio"]


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"instructions": "no type"}, "missing_required_parameter", "session.type"),
        ({"type": "realtime", "output_modalities": ["video"]}, "invalid_value", "session.output_modalities[0]"),
        ({"type": "realtime", "output_modalities": []}, "invalid_value", "session.output_modalities"),
        ({"type": "realtime", "instructions": 5}, "invalid_type", "session.instructions"),
        ({"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
         "invalid_value", "session.audio.input.format.rate"),
        ({"type": "realtime", "audio": {"input": {"format": {"type": "audio/opus"}}}},
         "invalid_value", "session.audio.input.format.type"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}},
         "decimal_above_max_value", "session.audio.input.turn_detection.threshold"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "eagerness": "low"}}}},
         "unknown_parameter", "session.audio.input.turn_detection.eagerness"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"silence_duration_ms": 100}}}},
         "missing_required_parameter", "session.audio.input.turn_detection.type"),
        ({"type": "realtime", "audio": {"output": {"speed": 3}}}, "decimal_above_max_value",
         "session.audio.output.speed"),
        ({"type": "realtime", "audio": {"output": {"pitch": 3}}}, "unknown_parameter", "session.audio.output.pitch"),
        ({"type": "realtime", "tools": [{"type": "function", "name": "bad name!"}]}, "invalid_value",
         "session.tools[0].name"),
        ({"type": "realtime", "tools": [{"type": "function"}]}, "missing_required_parameter", "session.tools[0].name"),
        ({"type": "realtime", "tools": [{"type": "mcp", "server_label": "x", "server_url": "http://x"}]},
         "invalid_value", "session.tools[0].type"),
        ({"type": "realtime", "tool_choice": "sometimes"}, "invalid_value", "session.tool_choice"),
        ({"type": "realtime", "max_output_tokens": 5000}, "integer_above_max_value", "session.max_output_tokens"),
        ({"type": "realtime", "max_output_tokens": "lots"}, "invalid_value", "session.max_output_tokens"),
        ({"type": "realtime", "colour": "blue"}, "unknown_parameter", "session.colour"),
        ({"type": "transcription"}, "invalid_value", "session.type"),
    ],
)
def test_invalid_update_is_an_error_naming_the_field_and_changes_nothing(mock, h, session, code, param):
    m = mock()
    before = m.session
    out = m.send("session.update", event_id="evt_bad", session=session)
    assert h.types(out) == ["error"]
    err = out[0]["error"]
    assert (err["type"], err["code"], err["param"], err["event_id"]) == (
        "invalid_request_error", code, param, "evt_bad")
    assert err["message"]
    assert m.session == before


def test_session_update_without_session_is_an_error(mock):
    m = mock()
    err = m.send("session.update", event_id="e")[0]["error"]
    assert (err["code"], err["param"]) == ("missing_required_parameter", "session")


def test_model_cannot_change_but_is_accepted(mock):
    m = mock()
    s = m.send("session.update", session={"type": "realtime", "model": "gpt-realtime"})[0]["session"]
    assert s["model"] == "mock"


def test_voice_is_locked_once_the_model_has_spoken(mock, h):
    m = mock()
    m.send("conversation.item.create", item={"type": "message", "role": "user",
                                             "content": [{"type": "input_text", "text": "hi"}]})
    m.send("response.create")
    m.run()
    out = m.send("session.update", event_id="v", session={"type": "realtime", "audio": {"output": {"voice": "ash"}}})
    assert h.types(out) == ["error"]
    assert out[0]["error"]["code"] == "cannot_update_voice"
    same = m.send("session.update", session={"type": "realtime", "audio": {"output": {"voice": "marin"}}})
    assert h.types(same) == ["session.updated"]


def test_unknown_event_type_is_an_error_echoing_the_event_id(mock, h):
    m = mock()
    out = m.send("session.frobnicate", event_id="evt_x")
    assert h.types(out) == ["error"]
    err = out[0]["error"]
    assert (err["type"], err["code"], err["param"], err["event_id"]) == (
        "invalid_request_error", "invalid_value", "type", "evt_x")
    assert "'session.update'" in err["message"]


def test_output_audio_buffer_clear_is_refused_on_websocket(mock, h):
    m = mock()
    out = m.send("output_audio_buffer.clear", event_id="o")
    assert h.types(out) == ["error"] and out[0]["error"]["event_id"] == "o"


def test_the_event_validator_used_by_these_tests_is_strict(h):
    h.validate({"type": "input_audio_buffer.cleared", "event_id": "e"})
    with pytest.raises(Exception):  # a beta event name is not a GA event
        h.validate({"type": "response.text.delta", "event_id": "e", "response_id": "r", "item_id": "i",
                    "output_index": 0, "content_index": 0, "delta": "x"})
    with pytest.raises(Exception):  # a required field is missing
        h.validate({"type": "input_audio_buffer.speech_started", "event_id": "e", "item_id": "i"})
    with pytest.raises(AssertionError, match="fields the SDK does not know"):
        h.validate({"type": "input_audio_buffer.cleared", "event_id": "e", "surprise": 1})
