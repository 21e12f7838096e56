"""The Azure translator without sockets: GA passthrough stays byte-exact, and a
beta (preview) upstream gives GA clients what beta never sends."""

from __future__ import annotations

import json

from rt_azure.translator import AzureTranslator
from rt_core import Event, IdFactory, ToClient, ToUpstream, UpstreamOpened
from tests.azure.support import validate


def client_texts(actions: list) -> list[dict]:
    out = []
    for a in actions:
        assert isinstance(a, ToClient)
        ev = a.event if isinstance(a.event, Event) else Event.from_data(a.event)
        out.append(json.loads(ev.text))
    return out


def test_ga_upstream_forwards_frames_untouched() -> None:
    t = AzureTranslator("ga", ids=IdFactory(seed="t"))
    assert t.outbound(UpstreamOpened()) == []
    frame = '{"type":"response.output_audio.delta","event_id":"e1","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAAA"}'
    (action,) = t.outbound(frame)
    assert isinstance(action, ToClient) and action.event.text is frame
    append = Event.from_text('{"type":"input_audio_buffer.append","audio":"AAAA"}')
    (up,) = t.inbound(append)
    assert isinstance(up, ToUpstream) and up.frame is append.text


def test_beta_upstream_session_update_is_sent_in_beta() -> None:
    t = AzureTranslator("beta", ids=IdFactory(seed="t"))
    ev = Event.from_data({"type": "session.update", "session": {
        "type": "realtime", "output_modalities": ["text"],
        "audio": {"output": {"voice": "alloy"}, "input": {"turn_detection": None}}}})
    (up,) = t.inbound(ev)
    sent = json.loads(up.frame)
    assert sent["session"] == {"modalities": ["text"], "voice": "alloy", "turn_detection": None}


def test_beta_upstream_function_call_gets_name_and_item_done() -> None:
    t = AzureTranslator("beta", ids=IdFactory(seed="t"))
    call = {"id": "item_1", "object": "realtime.item", "type": "function_call", "status": "in_progress",
            "name": "get_weather", "call_id": "call_1", "arguments": ""}
    frames = [
        {"type": "response.output_item.added", "event_id": "e1", "response_id": "r1", "output_index": 0, "item": call},
        {"type": "conversation.item.created", "event_id": "e2", "item": call},
        {"type": "response.function_call_arguments.done", "event_id": "e3", "response_id": "r1", "item_id": "item_1",
         "output_index": 0, "call_id": "call_1", "arguments": "{}"},
        {"type": "response.output_item.done", "event_id": "e4", "response_id": "r1", "output_index": 0,
         "item": {**call, "status": "completed", "arguments": "{}"}},
    ]
    out = []
    for f in frames:
        out.extend(client_texts(t.outbound(json.dumps(f))))
    for ev in out:
        validate(ev, "ga")
    kinds = [e["type"] for e in out]
    assert kinds == ["response.output_item.added", "conversation.item.added", "response.function_call_arguments.done",
                     "response.output_item.done", "conversation.item.done"]
    assert out[2]["name"] == "get_weather"
    assert out[4]["item"]["status"] == "completed"


def test_beta_upstream_audio_delta_renamed_without_parsing() -> None:
    t = AzureTranslator("beta", ids=IdFactory(seed="t"))
    frame = '{"type":"response.audio.delta","event_id":"e1","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"AAAA"}'
    (action,) = t.outbound(frame)
    assert action.event.type == "response.output_audio.delta"
    assert not action.event.is_parsed
    validate(json.loads(action.event.text), "ga")
