"""The xAI translator without sockets: plain calls, asserted frames.

Every event it gives a client is validated against the openai SDK's GA
server-event union (and for unknown top-level keys).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rt_core import ClientEventError, Event, IdFactory, ToClient, ToUpstream, UpstreamLost, UpstreamOpened
from rt_xai.session import item_to_ga, session_to_ga, session_to_xai
from rt_xai.translator import XAITranslator
from rt_xai.voices import DEFAULT_VOICE_MAP, XAI_VOICES, to_xai_voice
from tests.azure.support import validate


def translator(**kw: Any) -> XAITranslator:
    return XAITranslator(model="grok-voice-latest", ids=IdFactory(seed="t"), **kw)


def to_client(t: XAITranslator, frame: dict[str, Any] | str) -> list[dict[str, Any]]:
    """Feed one upstream frame; return the client events (each validated)."""
    text = frame if isinstance(frame, str) else json.dumps(frame)
    out = []
    for action in t.outbound(text):
        assert isinstance(action, ToClient)
        ev = action.event if isinstance(action.event, Event) else Event.from_data(action.event)
        data = json.loads(ev.text)
        validate(data, "ga")
        out.append(data)
    return out


def to_upstream(t: XAITranslator, event: dict[str, Any]) -> dict[str, Any]:
    (action,) = t.inbound(Event.from_data(event))
    assert isinstance(action, ToUpstream)
    return json.loads(action.frame)


# ---------------------------------------------------------------- voices


def test_every_openai_voice_maps_to_an_xai_voice() -> None:
    openai_voices = {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
    assert set(DEFAULT_VOICE_MAP) == openai_voices
    assert set(DEFAULT_VOICE_MAP.values()) <= set(XAI_VOICES)


def test_voice_names_and_custom_ids() -> None:
    table = {**DEFAULT_VOICE_MAP, "alloy": "ara"}
    assert to_xai_voice("Alloy", table) == "ara"
    assert to_xai_voice("Rex", table) == "Rex"  # xAI's own names pass as given
    assert to_xai_voice({"id": "voice_123"}, table) == "voice_123"


def test_deployment_voice_map_overrides() -> None:
    t = translator(voice_map={"alloy": "leo"})
    sent = to_upstream(t, {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "alloy"}}}})
    assert sent["session"]["voice"] == "leo"


# ---------------------------------------------------------------- sessions


def test_session_update_lifts_voice_and_turn_detection() -> None:
    ga = {"type": "realtime", "model": "gpt-realtime", "temperature": 0.7, "instructions": "hi",
          "audio": {"input": {"format": {"type": "audio/pcm"}, "turn_detection": {"type": "server_vad", "threshold": 0.5},
                              "transcription": {"model": "whisper-1", "language": "de", "prompt": "p"}},
                    "output": {"voice": "coral", "speed": 1.1, "format": {"type": "audio/pcmu"}}}}
    xai = session_to_xai(ga, voices=DEFAULT_VOICE_MAP)
    assert xai == {"type": "realtime", "instructions": "hi", "voice": "ara",
                   "turn_detection": {"type": "server_vad", "threshold": 0.5},
                   "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                       "transcription": {"language_hint": "de", "prompt": "p"}},
                             "output": {"speed": 1.1, "format": {"type": "audio/pcmu"}}}}
    assert ga["audio"]["output"]["voice"] == "coral"  # input not mutated


def test_manual_turns_stay_null() -> None:
    xai = session_to_xai({"type": "realtime", "audio": {"input": {"turn_detection": None}}}, voices=DEFAULT_VOICE_MAP)
    assert xai == {"type": "realtime", "turn_detection": None}


@pytest.mark.parametrize(("session", "param"), [
    ({"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}}, "session.audio.input.turn_detection.type"),
    ({"audio": {"input": {"turn_detection": {"type": "magic"}}}}, "session.audio.input.turn_detection.type"),
    ({"audio": {"output": {"format": {"type": "audio/pcm", "rate": 4000}}}}, "session.audio.output.format.rate"),
    ({"audio": {"input": {"format": {"type": "audio/opus"}}}}, "session.audio.input.format.type"),
    ({"type": "transcription"}, "session.type"),
])
def test_what_xai_cannot_take_is_a_client_error(session: dict[str, Any], param: str) -> None:
    t = translator()
    with pytest.raises(ClientEventError) as info:
        t.inbound(Event.from_data({"type": "session.update", "event_id": "evt_1", "session": {"type": "realtime", **session}}))
    assert info.value.param == param
    assert info.value.event_id == "evt_1"


def test_session_from_xai_is_ga() -> None:
    xai = {"id": "s", "object": "realtime.session", "model": "grok-voice-latest", "voice": "Eve",
           "turn_detection": {"type": None}, "modalities": ["text", "audio"],
           "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}, "transcription": {"language_hint": "en"}},
                     "output": {"format": {"type": "audio/pcm", "rate": 16000}}}}
    ga = session_to_ga(xai)
    assert ga["type"] == "realtime"
    assert ga["output_modalities"] == ["audio"]
    assert ga["audio"]["output"]["voice"] == "Eve"
    assert ga["audio"]["input"]["turn_detection"] is None
    assert ga["audio"]["input"]["transcription"] == {"language": "en"}
    assert "voice" not in ga and "turn_detection" not in ga


# ---------------------------------------------------------------- xAI → client


def test_conversation_created_is_preceded_by_a_synthesised_session_created() -> None:
    t = translator()
    assert t.outbound(UpstreamOpened()) == []
    out = to_client(t, {"type": "conversation.created", "event_id": "e1",
                        "conversation": {"id": "conv_1", "object": "realtime.conversation"}})
    assert [e["type"] for e in out] == ["session.created", "conversation.created"]
    session = out[0]["session"]
    assert session["model"] == "grok-voice-latest"
    assert session["audio"]["output"]["voice"] == "eve"
    # A later real session.created (newer xAI) does not announce a second session.
    again = to_client(t, {"type": "session.created", "event_id": "e2", "session": {"voice": "ara"}})
    assert [e["type"] for e in again] == ["session.updated"]


def test_ping_is_dropped_and_upstream_loss_uses_the_core_default() -> None:
    t = translator()
    assert t.outbound('{"type":"ping","event_id":"e","timestamp":1}') == []
    assert t.outbound(UpstreamLost(1011, "x")) is None


def test_complete_audio_delta_is_forwarded_without_parsing() -> None:
    t = translator()
    frame = ('{"type":"response.output_audio.delta","event_id":"e","response_id":"r","item_id":"i",'
             '"output_index":0,"content_index":0,"delta":"AAAA"}')
    (action,) = t.outbound(frame)
    assert action.event.text is frame
    assert not action.event.is_parsed


def test_audio_delta_with_type_not_first_is_still_not_parsed() -> None:
    t = translator()
    frame = ('{"event_id":"e","type":"response.output_audio.delta","response_id":"r","item_id":"i",'
             '"output_index":0,"content_index":0,"delta":"AAAA"}')
    (action,) = t.outbound(frame)
    assert action.event.text is frame and not action.event.is_parsed


def test_incomplete_audio_delta_is_filled() -> None:
    t = translator()
    to_client(t, {"type": "response.output_item.added", "event_id": "e1", "response_id": "r", "output_index": 2,
                  "item": {"id": "i", "type": "message", "role": "assistant", "content": []}})
    (delta,) = to_client(t, {"type": "response.output_audio.delta", "event_id": "e2", "item_id": "i", "delta": "AAAA"})
    assert (delta["response_id"], delta["output_index"], delta["content_index"]) == ("r", 2, 0)


def test_input_audio_counted_without_parsing() -> None:
    t = translator()
    audio = "A" * 6400  # 4800 bytes of 24 kHz PCM16 = 100 ms
    ev = Event("input_audio_buffer.append", json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
    (action,) = t.inbound(ev)
    assert action.frame is ev.text and not ev.is_parsed
    assert t.audio_ms == pytest.approx(100)
    out = to_client(t, {"type": "input_audio_buffer.speech_started", "event_id": "e", "item_id": "it"})
    assert out[0]["audio_start_ms"] == 100


def test_response_stream_is_completed() -> None:
    t = translator()
    rid, iid = "resp_1", "item_1"
    ids = {"response_id": rid, "item_id": iid}
    item = {"id": iid, "object": "realtime.item", "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}
    frames = [
        {"type": "response.created", "event_id": "e1", "response": {"id": rid, "object": "realtime.response",
                                                                    "status": "in_progress", "output": [], "usage": None}},
        {"type": "response.output_item.added", "event_id": "e2", "response_id": rid, "output_index": 0, "item": item},
        {"type": "conversation.item.added", "event_id": "e3", "item": item},
        {"type": "response.content_part.added", "event_id": "e4", **ids, "output_index": 0, "content_index": 0,
         "part": {"type": "audio", "transcript": ""}},
        {"type": "response.output_audio_transcript.delta", "event_id": "e5", **ids, "delta": "Hel"},
        {"type": "response.output_audio.delta", "event_id": "e6", **ids, "delta": "AAAA"},
        {"type": "response.output_audio_transcript.delta", "event_id": "e7", **ids, "delta": "lo"},
        {"type": "response.output_audio.done", "event_id": "e8", **ids},
        {"type": "response.output_audio_transcript.done", "event_id": "e9", **ids},
        {"type": "response.content_part.done", "event_id": "e10", **ids},
        {"type": "response.output_item.done", "event_id": "e11", "response_id": rid, "output_index": 0,
         "item": {**item, "status": "completed", "content": [{"type": "audio", "transcript": "Hello"}]}},
        {"type": "response.done", "event_id": "e12",
         "response": {"id": rid, "object": "realtime.response", "status": "completed", "output": [], "usage": {}},
         "usage": {"total_tokens": 5, "input_tokens": 2, "output_tokens": 3}},
    ]
    out = [e for f in frames for e in to_client(t, f)]
    kinds = [e["type"] for e in out]
    assert kinds[-3:] == ["response.output_item.done", "conversation.item.done", "response.done"]
    for e in out:
        if e["type"].startswith("response.output_audio") or e["type"].startswith("response.content_part"):
            assert (e["output_index"], e["content_index"]) == (0, 0)
    (tdone,) = [e for e in out if e["type"] == "response.output_audio_transcript.done"]
    assert tdone["transcript"] == "Hello"
    (pdone,) = [e for e in out if e["type"] == "response.content_part.done"]
    assert pdone["part"] == {"type": "audio", "transcript": "Hello"}
    done_item = next(e for e in out if e["type"] == "response.output_item.done")["item"]
    assert done_item["content"] == [{"type": "output_audio", "transcript": "Hello"}]
    assert out[-1]["response"]["usage"] == {"total_tokens": 5, "input_tokens": 2, "output_tokens": 3}
    assert "usage" not in out[-1]
    assert t.outputs == {} and t.open_items == {}  # per-response memory is released


def test_transcription_and_error_fields_are_filled() -> None:
    t = translator()
    t.audio_ms = 750.0
    to_client(t, {"type": "input_audio_buffer.committed", "event_id": "e1", "item_id": "u1"})
    (tr,) = to_client(t, {"type": "conversation.item.input_audio_transcription.completed", "event_id": "e2",
                          "item_id": "u1", "transcript": "hi"})
    assert tr["content_index"] == 0 and tr["usage"] == {"type": "duration", "seconds": 0.75}
    (err,) = to_client(t, {"type": "error", "event_id": "e3", "error": {"message": "bad", "code": "x"}})
    assert err["error"]["type"] == "invalid_request_error"
    assert to_client(t, {"type": "conversation.item.input_audio_transcription.updated", "event_id": "e4",
                         "item_id": "u1", "transcript": "h"}) == []


def test_items_are_ga_shaped() -> None:
    assert item_to_ga({"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]})["content"] == [
        {"type": "output_text", "text": "x"}]
    assert item_to_ga({"type": "message", "role": "user", "content": None})["content"] == []
    same = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    assert item_to_ga(same) is same


def test_garbage_from_upstream_is_an_error_event() -> None:
    t = translator()
    out = to_client(t, "not json{")
    assert out[0]["type"] == "error" and out[0]["error"]["code"] == "upstream_invalid_frame"
