"""Session set-up: each OpenAI session field and how it reaches Gemini's ``setup``."""

from __future__ import annotations

import json

import pytest

from rt_gemini.upstream import Reconnect
from rt_gemini.voices import GEMINI_VOICES, OPENAI_TO_GEMINI

from .support import TURN_COMPLETE, Driver, append, gemini_audio, gemini_text, transcript, user_text


def setup_for(session: dict, **opts) -> dict:
    d = Driver(**opts)
    d.opened()
    d.client({"type": "session.update", "session": {"type": "realtime", **session}})
    return d.setup()


# ---------------------------------------------------------------------- when setup is sent


def test_session_created_at_once_with_defaults_and_setup_waits():
    d = Driver()
    step = d.opened()
    created = step.one("session.created")["session"]
    assert created["type"] == "realtime" and created["model"] == "gemini-live"
    assert created["output_modalities"] == ["audio"]
    assert created["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert created["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert created["audio"]["output"]["voice"] == "alloy"
    assert created["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert step.upstream == []  # nothing sent before the client had its say
    assert [s.signal.name for s in step.schedules] == ["gemini.setup"]


def test_setup_sent_after_first_session_update_and_only_once():
    d = Driver()
    d.opened()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "Be terse."}})
    assert step.types() == ["session.updated"]
    assert len(step.frames("setup")) == 1
    # The grace timer is cancelled; firing anyway sends nothing more.
    assert any(s.signal.name == "gemini.setup" and s.delay < 0 for s in step.schedules)
    assert d.timer("gemini.setup").upstream == []
    d.gemini({"setupComplete": {}})
    assert [f for f in d.all_upstream() if isinstance(f, dict) and "setup" in f].__len__() == 1


def test_setup_sent_by_first_content_event_and_input_waits_for_setup_complete():
    d = Driver()
    d.opened()
    step = d.client(append(100))
    assert [next(iter(f)) for f in step.upstream] == ["setup"]  # audio held until setupComplete
    step = d.gemini({"setupComplete": {}})
    assert [next(iter(f)) for f in step.upstream] == ["realtimeInput"]


def test_setup_sent_after_grace_period():
    d = Driver(setup_grace=0.3)
    step = d.opened()
    assert step.schedules[0].delay == 0.3
    step = d.timer("gemini.setup")
    assert step.frames("setup")[0]["setup"]["model"] == "models/gemini-live-2.5-flash-preview"


def test_session_update_is_answered_with_what_is_in_force():
    d = Driver()
    d.start()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "x",
                                                           "audio": {"output": {"voice": "Puck"}}}})
    s = step.one("session.updated")["session"]
    assert s["instructions"] == "x" and s["audio"]["output"]["voice"] == "Puck"
    # Fields not in the update keep their values.
    assert s["output_modalities"] == ["audio"]


# ---------------------------------------------------------------------- field mapping


def test_instructions_become_system_instruction():
    setup = setup_for({"instructions": "You are a pirate."})
    assert setup["systemInstruction"] == {"role": "user", "parts": [{"text": "You are a pirate."}]}


def test_text_modality():
    setup = setup_for({"output_modalities": ["text"]})
    assert setup["generationConfig"]["responseModalities"] == ["TEXT"]
    assert "speechConfig" not in setup["generationConfig"]
    assert "outputAudioTranscription" not in setup


def test_audio_modality_enables_output_transcription():
    setup = setup_for({"output_modalities": ["audio"]})
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["outputAudioTranscription"] == {}


def test_both_modalities_mean_audio_with_transcript():
    d = Driver()
    d.opened()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text", "audio"]}})
    assert step.one("session.updated")["session"]["output_modalities"] == ["audio"]
    assert d.setup()["generationConfig"]["responseModalities"] == ["AUDIO"]


@pytest.mark.parametrize("openai_voice,gemini", sorted(OPENAI_TO_GEMINI.items()))
def test_openai_voices_map_to_gemini_voices(openai_voice, gemini):
    setup = setup_for({"audio": {"output": {"voice": openai_voice}}})
    assert setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == gemini
    assert gemini in GEMINI_VOICES


@pytest.mark.parametrize("given,sent", [("Puck", "Puck"), ("charon", "Charon"), ("Newvoice", "Newvoice")])
def test_gemini_voice_names_pass_through(given, sent):
    setup = setup_for({"audio": {"output": {"voice": given}}})
    assert setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == sent


def test_default_voice_from_deployment_and_language():
    setup = setup_for({}, default_voice="Aoede", language="de-DE")
    speech = setup["generationConfig"]["speechConfig"]
    assert speech["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Aoede"
    assert speech["languageCode"] == "de-DE"


SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"anyOf": [{"enum": ["c", "f"]}, {"type": "null"}]},
        "when": {"$ref": "#/$defs/date"},
    },
    "required": ["city"],
    "additionalProperties": False,
    "$defs": {"date": {"type": "string", "format": "date"}},
}


def test_tools_pass_the_json_schema_unchanged():
    setup = setup_for({"tools": [{"type": "function", "name": "get_weather", "description": "Weather", "parameters": SCHEMA}]})
    decl = setup["tools"][0]["functionDeclarations"][0]
    assert decl == {"name": "get_weather", "description": "Weather", "parametersJsonSchema": SCHEMA}


def test_tool_choice_required_is_an_instruction():
    setup = setup_for({"instructions": "Help.", "tool_choice": "required",
                       "tools": [{"type": "function", "name": "a", "parameters": {"type": "object"}}]})
    text = setup["systemInstruction"]["parts"][0]["text"]
    assert text.startswith("Help.\n\n") and "calling one of the available functions" in text


def test_tool_choice_named_function_declares_only_it():
    setup = setup_for({"tool_choice": {"type": "function", "name": "b"},
                       "tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b"}]})
    assert [f["name"] for f in setup["tools"][0]["functionDeclarations"]] == ["b"]
    assert "`b`" in setup["systemInstruction"]["parts"][0]["text"]


def test_tool_choice_none_refuses_calls_without_showing_them():
    d = Driver()
    d.start({"output_modalities": ["text"], "tool_choice": "none",
             "tools": [{"type": "function", "name": "get_weather"}]})
    assert d.setup()["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    d.client(user_text("weather?"))
    d.client({"type": "response.create"})
    step = d.gemini({"toolCall": {"functionCalls": [{"id": "c1", "name": "get_weather", "args": {}}]}})
    assert not [t for t in step.types() if "function_call" in t or t == "response.output_item.added"]
    refusal = step.frames("toolResponse")[0]["toolResponse"]["functionResponses"][0]
    assert refusal["id"] == "c1" and "error" in refusal["response"]
    d.gemini(gemini_text("Sunny, probably."))
    done = d.gemini(TURN_COMPLETE).one("response.done")["response"]
    assert done["status"] == "completed"
    assert [i["type"] for i in done["output"]] == ["message"]


def test_mcp_tools_are_reported_not_dropped():
    d = Driver()
    d.opened()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "tools": [
        {"type": "function", "name": "f"}, {"type": "mcp", "server_label": "x", "server_url": "https://x"}]}})
    err = step.one("error")["error"]
    assert err["param"] == "session.tools[1]" and "mcp" in err["message"]
    assert [t["name"] for t in step.one("session.updated")["session"]["tools"]] == ["f"]


@pytest.mark.parametrize("threshold,sensitivity", [(0.8, "START_SENSITIVITY_LOW"), (0.2, "START_SENSITIVITY_HIGH"), (0.5, None)])
def test_server_vad_threshold(threshold, sensitivity):
    setup = setup_for({"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": threshold}}}})
    aad = (setup.get("realtimeInputConfig") or {}).get("automaticActivityDetection") or {}
    assert aad.get("startOfSpeechSensitivity") == sensitivity


def test_server_vad_padding_and_silence():
    setup = setup_for({"audio": {"input": {"turn_detection": {
        "type": "server_vad", "prefix_padding_ms": 200, "silence_duration_ms": 700}}}})
    aad = setup["realtimeInputConfig"]["automaticActivityDetection"]
    assert aad == {"prefixPaddingMs": 200, "silenceDurationMs": 700}


@pytest.mark.parametrize("eagerness,sensitivity", [("high", "END_SENSITIVITY_HIGH"), ("low", "END_SENSITIVITY_LOW"), ("auto", None)])
def test_semantic_vad_eagerness(eagerness, sensitivity):
    setup = setup_for({"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": eagerness}}}})
    aad = (setup.get("realtimeInputConfig") or {}).get("automaticActivityDetection") or {}
    assert aad.get("endOfSpeechSensitivity") == sensitivity


def test_turn_detection_null_is_manual_activity():
    setup = setup_for({"audio": {"input": {"turn_detection": None}}})
    assert setup["realtimeInputConfig"]["automaticActivityDetection"] == {"disabled": True}


def test_interrupt_response_false():
    setup = setup_for({"audio": {"input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}}})
    assert setup["realtimeInputConfig"]["activityHandling"] == "NO_INTERRUPTION"


def test_idle_timeout_is_reported():
    d = Driver()
    d.opened()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}}}})
    assert step.one("error")["error"]["param"] == "session.audio.input.turn_detection.idle_timeout_ms"


def test_input_transcription_is_always_requested_and_forwarded_only_when_asked():
    setup = setup_for({})
    assert setup["inputAudioTranscription"] == {}
    for enabled in (False, True):
        d = Driver()
        session = {"audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}}} if enabled else {}
        d.start(session)
        d.client(append(300))
        d.gemini({"serverContent": {"inputTranscription": {"text": "hello"}}})
        d.gemini(gemini_audio())
        d.gemini(transcript("Hi"))
        d.gemini(TURN_COMPLETE)
        kinds = {e["type"] for e in d.all_events()}
        assert ("conversation.item.input_audio_transcription.completed" in kinds) is enabled
        assert ("conversation.item.input_audio_transcription.delta" in kinds) is enabled


def test_max_output_tokens():
    assert setup_for({"max_output_tokens": 300})["generationConfig"]["maxOutputTokens"] == 300
    assert "maxOutputTokens" not in setup_for({"max_output_tokens": "inf"})["generationConfig"]


def test_beta_temperature_and_deployment_default():
    assert setup_for({"temperature": 0.6})["generationConfig"]["temperature"] == 0.6
    assert setup_for({}, temperature=0.3)["generationConfig"]["temperature"] == 0.3
    assert "temperature" not in setup_for({})["generationConfig"]


def test_truncation_and_context_window_compression():
    assert setup_for({})["contextWindowCompression"] == {"slidingWindow": {}}
    assert "contextWindowCompression" not in setup_for({"truncation": "disabled"})
    limited = setup_for({"truncation": {"type": "retention_ratio", "retention_ratio": 0.5,
                                        "token_limits": {"post_instructions": 20000}}})
    assert limited["contextWindowCompression"] == {"triggerTokens": 20000, "slidingWindow": {}}
    assert "contextWindowCompression" not in setup_for({}, context_window_compression=False)


def test_reasoning_effort():
    assert setup_for({"reasoning": {"effort": "low"}})["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "LOW"}


def test_session_resumption_is_always_on():
    assert setup_for({})["sessionResumption"] == {}


@pytest.mark.parametrize("field,value,param", [
    ("audio", {"input": {"noise_reduction": {"type": "near_field"}}}, "session.audio.input.noise_reduction"),
    ("audio", {"output": {"speed": 1.5}}, "session.audio.output.speed"),
    ("audio", {"output": {"voice": {"id": "voice_123"}}}, "session.audio.output.voice"),
    ("prompt", {"id": "pmpt_1"}, "session.prompt"),
    ("include", ["item.input_audio_transcription.logprobs"], "session.include"),
])
def test_unsupported_fields_get_an_error_naming_them(field, value, param):
    d = Driver()
    d.opened()
    step = d.client({"type": "session.update", "event_id": "evt_9", "session": {"type": "realtime", field: value}})
    assert step.types() == ["session.updated", "error"]
    err = step.one("error")["error"]
    assert err["param"] == param and err["event_id"] == "evt_9" and err["code"] == "unsupported_session_field"


@pytest.mark.parametrize("session,param", [
    ({"output_modalities": ["video"]}, "session.output_modalities"),
    ({"audio": {"input": {"format": {"type": "audio/flac"}}}}, "session.audio.input.format"),
    ({"tools": [{"type": "function"}]}, "session.tools[0].name"),
    ({"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 3}}}},
     "session.audio.input.turn_detection.threshold"),
    ({"tool_choice": {"type": "function", "name": "nope"}}, "session.tool_choice"),
])
def test_invalid_values_are_rejected_whole(session, param):
    from rt_core import ClientEventError

    d = Driver()
    d.opened()
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "session.update", "event_id": "e1", "session": {"type": "realtime", **session}})
    assert info.value.param == param and info.value.event_id == "e1"
    # Nothing changed.
    assert d.t.config.output_modalities == ["audio"]


def test_transcription_sessions_are_rejected():
    from rt_core import UnsupportedEventError

    d = Driver()
    d.opened()
    with pytest.raises(UnsupportedEventError):
        d.client({"type": "session.update", "session": {"type": "transcription"}})


# ---------------------------------------------------------------------- later updates


def test_change_gemini_cannot_apply_in_place_reconnects_with_the_handle():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.client(user_text("hi"))
    d.client({"type": "response.create"})
    d.gemini(gemini_text("Hello"))
    d.gemini(TURN_COMPLETE)
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "Now be formal.",
                                                          "output_modalities": ["audio"]}})
    assert step.types() == ["session.updated"]
    (reconnect,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    setup = json.loads(reconnect.setup)["setup"]
    assert setup["sessionResumption"] == {"handle": "h-1"}
    assert setup["systemInstruction"]["parts"][0]["text"] == "Now be formal."
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    # Input during the swap is held and replayed after the new setupComplete.
    assert d.client(append(100)).upstream == []
    replay = d.gemini({"setupComplete": {}})
    assert [next(iter(f)) for f in replay.upstream] == ["realtimeInput"]


def test_local_only_changes_do_not_reconnect():
    d = Driver()
    d.start({})
    step = d.client({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"format": {"type": "audio/pcmu"}, "transcription": {"model": "whisper-1"}},
        "output": {"format": {"type": "audio/pcma"}}}}})
    assert step.upstream == []
    s = step.one("session.updated")["session"]
    assert s["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert s["audio"]["output"]["format"] == {"type": "audio/pcma"}


def test_reconnect_waits_for_the_response_to_finish():
    d = Driver()
    d.streaming_text_response()
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "changed"}})
    assert not [f for f in step.upstream if isinstance(f, Reconnect)]
    step = d.gemini(TURN_COMPLETE)
    assert step.types()[-1] == "response.done"
    assert [f for f in step.upstream if isinstance(f, Reconnect)]


def test_reconnect_before_any_content_needs_no_handle():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "changed"}})
    (reconnect,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    assert json.loads(reconnect.setup)["setup"]["sessionResumption"] == {}


def test_reconnect_after_content_waits_for_a_handle():
    d = Driver()
    d.start({"output_modalities": ["text"]})
    d.client(append(100))
    step = d.client({"type": "session.update", "session": {"type": "realtime", "instructions": "changed"}})
    assert not [f for f in step.upstream if isinstance(f, Reconnect)]
    step = d.gemini({"sessionResumptionUpdate": {"newHandle": "h-2", "resumable": True}})
    (reconnect,) = [f for f in step.upstream if isinstance(f, Reconnect)]
    assert json.loads(reconnect.setup)["setup"]["sessionResumption"] == {"handle": "h-2"}
    # A non-resumable update carries no usable handle.
    d2 = Driver()
    d2.start({})
    d2.client(append(100))
    d2.client({"type": "session.update", "session": {"type": "realtime", "instructions": "x"}})
    assert not [f for f in d2.gemini({"sessionResumptionUpdate": {"resumable": False}}).upstream
                if isinstance(f, Reconnect)]
