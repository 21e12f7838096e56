"""Bad client input never kills a session: each case gets an OpenAI-style
error event from rt (type, code, message, param, event_id) and the session
stays usable; passthrough relays the upstream's own errors for unknown types."""

from __future__ import annotations

import json

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import openai_config, validate_server_event

pytestmark = pytest.mark.anyio


async def recv_json(ws, timeout: float = 5.0) -> dict:
    with anyio.fail_after(timeout):
        data = json.loads(await ws.recv())
    validate_server_event(data, "ga")
    return data


async def still_usable(ws) -> None:
    """A full text turn still works after the bad input."""
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "ok?"}]}}))
    await ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
    while True:
        ev = await recv_json(ws)
        if ev["type"] == "response.done":
            assert ev["response"]["status"] == "completed"
            return


@pytest.fixture
async def gw():
    fake = FakeOpenAI()
    async with fake.running():
        cfg = openai_config(fake.api_base, litellm_settings={"max_event_bytes": 4096})
        async with running_gateway(cfg) as gw:
            gw.fake = fake
            yield gw


@pytest.mark.parametrize("frame,code,param", [
    (b"\x00\x01binary", "binary_frame_not_supported", None),
    ('{"type": "session.update", ', "invalid_json", None),
    ("[1, 2, 3]", "invalid_event", None),
    ('"just a string"', "invalid_event", None),
    ('{"event_id": "evt_42", "session": {}}', "missing_type", "type"),
    ('{"type": 7, "event_id": "evt_43"}', "missing_type", "type"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 8000}), "event_too_large", None),
    # Deeper than rt's limit (and than 3.12's parser goes: that is a RecursionError inside json.loads).
    ("[" * 2000 + "]" * 2000, "invalid_event", None),
    ('{"type":"session.update","session":' + "[" * 1500 + "]" * 1500 + "}", "invalid_event", None),
    ('{"type":"session.update","session":{"type":"realtime","tools":[{"type":"function","name":"f",'
     '"parameters":' + '{"a":' * 300 + "1" + "}" * 300 + "}]}}", "invalid_event", None),
    # An unpaired surrogate escape: JSON's grammar allows it, UTF-8 cannot carry it.
    ('{"type":"conversation.item.create","item":{"type":"message","role":"user",'
     '"content":[{"type":"input_text","text":"\\ud800"}]}}', "invalid_json", None),
    ('{"type":"response.create","response":{"instructions":"x\\uDC00"}}', "invalid_json", None),
])
async def test_bad_frame_gets_error_and_session_survives(gw, frame, code, param):
    async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
        assert (await recv_json(ws))["type"] == "session.created"
        await ws.send(frame)
        err = await recv_json(ws)
        assert err["type"] == "error"
        assert err["error"]["code"] == code
        assert err["error"]["param"] == param
        assert err["error"]["message"]
        if "evt_42" in str(frame):
            assert err["error"]["event_id"] == "evt_42"
        await still_usable(ws)
    # nothing malformed ever reached the upstream
    assert not gw.fake.invalid


async def test_surrogate_pairs_are_text_not_errors(gw):
    """``json.dumps`` (ensure_ascii) writes an emoji as two escapes: a pair, one character."""
    async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        frame = json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi \U0001F600"}]}})
        assert "\\ud83d\\ude00" in frame
        await ws.send(frame)
        added = await recv_json(ws)
        assert added["type"] == "conversation.item.added"
        await still_usable(ws)
    (item,) = [e for e in gw.fake.connections[0].received if e["type"] == "conversation.item.create"][:1]
    assert item["item"]["content"][0]["text"] == "hi \U0001F600"


async def test_unknown_event_type_is_relayed_to_upstream_and_its_error_comes_back(gw):
    async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "response.teleport", "event_id": "evt_x"}))
        err = await recv_json(ws)
        assert err["type"] == "error"
        assert err["error"]["event_id"] == "evt_x"  # the upstream's own error, relayed
        assert "response.teleport" in err["error"]["message"]
        await still_usable(ws)
    assert gw.fake.connections[0].types()[0] == "response.teleport"


async def test_schema_error_from_upstream_is_relayed(gw):
    async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"type": "conversation.item.truncate", "event_id": "evt_t"}))
        err = await recv_json(ws)
        assert err["type"] == "error" and err["error"]["event_id"] == "evt_t"
        await still_usable(ws)


async def test_beta_client_bad_format_value_is_rejected_by_rt_with_param(gw):
    async with ws_connect(gw.realtime_url("gpt-realtime"), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
        first = json.loads(await ws.recv())
        validate_server_event(first, "beta")
        await ws.send(json.dumps({"type": "session.update", "event_id": "evt_f",
                                  "session": {"input_audio_format": "mp3"}}))
        with anyio.fail_after(5):
            err = json.loads(await ws.recv())
        validate_server_event(err, "beta")
        assert err["type"] == "error"
        assert err["error"]["event_id"] == "evt_f"
        assert "input_audio_format" in (err["error"]["param"] or "")
