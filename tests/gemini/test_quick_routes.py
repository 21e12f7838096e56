"""rt-gemini's quick routes through the real gateway (docs/hooks.md, quick routes).

In the steady state of a server-VAD session the relay hands an append's audio
text straight to ``GeminiTranslator.quick_append`` and a Gemini frame straight
to ``quick_outbound``, and sends what they return without building events or
actions.  Here a raw WebSocket client streams through rt to the fake Gemini
Live server (which validates every message with google-genai's types): the
audio must arrive unchanged both ways, the routes must really be taken, bad
appends must still get rt's own errors, and the routes must step aside for a
beta client and for the event log.  That the routes' outputs equal the
general path's, frame for frame, is tests/gemini/test_hot_path.py.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect

from rt_gemini.translator import GeminiTranslator
from tests.fakes.gemini_live import Reply, tone24k
from tests.harness import only_relay, recv_text, running_gateway, texts_until
from tests.realtime_client import b64, pcm16_tone, validate_server_event

from .conftest import gemini_config

pytestmark = pytest.mark.anyio

SPEECH, SILENCE = pcm16_tone(20), bytes(960)  # 20 ms chunks of pcm16 24 kHz
STREAM = [SPEECH] * 30 + [SILENCE] * 30


def append(audio: bytes, event_id: str | None = None) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": b64(audio),
                       **({"event_id": event_id} if event_id else {})}, separators=(",", ":"))


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each quick route returned a frame (a spy on the real methods)."""
    counts: Counter[str] = Counter()
    for name in ("quick_append", "quick_outbound"):
        real = getattr(GeminiTranslator, name)

        def spy(self: Any, arg: Any, _real: Any = real, _name: str = name) -> Any:
            out = _real(self, arg)
            if out is not None:
                counts[_name] += 1
            return out

        monkeypatch.setattr(GeminiTranslator, name, spy)
    return counts


def sent_audio(fake: Any) -> bytes:
    return b"".join(base64.b64decode(m["realtimeInput"]["audio"]["data"]) for m in fake.connections[0].received
                    if "audio" in m.get("realtimeInput", {}))


async def stream_and_reply(gw: Any, ws: Any, dialect: str = "ga") -> list[dict[str, Any]]:
    """Once Gemini is ready, stream speech then silence; the events up to
    ``response.done``, each checked with the SDK's types."""
    await recv_text(ws)  # session.created
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
    with anyio.fail_after(5):
        while only_relay(gw).session.translator.phase != "ready":
            await anyio.sleep(0.01)
    for chunk in STREAM:
        await ws.send(append(chunk))
    events = [json.loads(t) for t in await texts_until(ws, "response.done")]
    for event in events:
        validate_server_event(event, dialect)
    return events


async def test_a_ga_session_streams_through_both_quick_routes_unchanged(fake, taken):
    fake.replies.append(Reply(text="It is sunny today here", chunks=5, audio_ms=40))
    async with running_gateway(gemini_config(fake)) as gw:
        async with ws_connect(gw.realtime_url("gemini-live")) as ws:
            events = await stream_and_reply(gw, ws)
            relay = only_relay(gw)
            assert relay.shortcuts == ("quick appends", "quick deltas")
            assert relay.stats.frames_in == len(STREAM) + 1  # and the session.update
    assert taken["quick_append"] == len(STREAM)  # Gemini was ready before the first
    assert sent_audio(fake) == b"".join(STREAM)
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    assert len(deltas) == 5 and taken["quick_outbound"] == 4  # the first opens the reply: the general path
    assert [base64.b64decode(d["delta"]) for d in deltas] == [tone24k(40)] * 5  # the fake's audio, unchanged
    assert len({d["event_id"] for d in deltas}) == 5
    assert {(d["response_id"], d["item_id"]) for d in deltas} == {(events[-1]["response"]["id"],
                                                                   events[-1]["response"]["output"][0]["id"])}
    assert fake.invalid == []


async def test_bad_appends_on_the_quick_route_get_clear_errors_and_the_session_goes_on(fake, taken):
    async with running_gateway(gemini_config(fake)) as gw:
        async with ws_connect(gw.realtime_url("gemini-live")) as ws:
            await recv_text(ws)
            await ws.send(append(SILENCE))
            await fake.wait_for_setup(1)
            with anyio.fail_after(5):
                while not taken["quick_append"]:  # once Gemini is ready, appends take the quick route
                    await ws.send(append(SILENCE))
                    await anyio.sleep(0.02)
            # A raw control character in the audio string: json refuses the frame, and so does
            # the quick route's base64 check; either way the client hears why.
            await ws.send('{"type":"input_audio_buffer.append","audio":"AAAA\x01AAA","event_id":"evt_ctrl"}')
            err = json.loads(await recv_text(ws))
            assert err["type"] == "error" and err["error"]["code"] in ("invalid_json", "invalid_value")
            # Not base64.
            await ws.send(append(b"", "evt_b64").replace('"audio":""', '"audio":"not base64!"'))
            err = json.loads(await recv_text(ws))
            assert err["type"] == "error" and err["error"]["param"] == "audio"
            assert err["error"]["event_id"] == "evt_b64"
            # Half a sample, and an escaped "/" in the audio: valid, so they take the general way.
            odd = json.dumps({"type": "input_audio_buffer.append", "audio": b64(SPEECH[:-1])})
            escaped = append(SPEECH).replace("/", "\\/")
            await ws.send(odd)
            await ws.send(escaped)
            await ws.send(append(SPEECH[-1:] + SPEECH))
            before = len(sent_audio(fake))
            with anyio.fail_after(5):
                while len(sent_audio(fake)) < before + 3 * len(SPEECH):
                    await anyio.sleep(0.02)
            assert sent_audio(fake).endswith(SPEECH[:-1] + SPEECH + SPEECH[-1:] + SPEECH)
    assert fake.invalid == []


async def test_a_beta_client_takes_the_quick_appends_but_gets_renamed_deltas(fake, taken):
    fake.replies.append(Reply(text="It is sunny", chunks=3, audio_ms=40))
    async with running_gateway(gemini_config(fake)) as gw:
        async with ws_connect(gw.realtime_url("gemini-live"), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
            events = await stream_and_reply(gw, ws, "beta")
            assert only_relay(gw).shortcuts == ("quick appends",)
    assert taken["quick_append"] > 0 and taken["quick_outbound"] == 0
    assert [e["type"] for e in events].count("response.audio.delta") == 3
    assert sent_audio(fake) == b"".join(STREAM)


@pytest.mark.parametrize(("logged", "expected"), [
    (["input_audio_buffer.append"], ("quick deltas",)),
    (["response.output_audio.delta"], ("quick appends",)),
    ("*", ()),
])
async def test_events_the_log_records_are_not_taken_past_it(fake, logged: Any, expected: tuple[str, ...],
                                                             tmp_path: Any):
    fake.replies.append(Reply(text="It is sunny", chunks=3, audio_ms=40))
    jsonl = tmp_path / "events.jsonl"
    cfg = gemini_config(fake)
    cfg["litellm_settings"] = {"logged_real_time_event_types": logged, "rt_log_jsonl": str(jsonl)}
    async with running_gateway(cfg) as gw:
        async with ws_connect(gw.realtime_url("gemini-live")) as ws:
            await stream_and_reply(gw, ws)
            assert only_relay(gw).shortcuts == expected
    with anyio.fail_after(5):
        while '"session.end"' not in (jsonl.read_text() if jsonl.exists() else ""):
            await anyio.sleep(0.02)
    counts = Counter(json.loads(line).get("event_type") for line in jsonl.read_text().splitlines())
    wanted = {"input_audio_buffer.append", "response.output_audio.delta"} if logged == "*" else set(logged)
    for kind in wanted:  # every one of them, shortcut or not
        assert counts[kind] == (len(STREAM) if kind == "input_audio_buffer.append" else 3)


@pytest.mark.parametrize("method", ["quick_append", "quick_outbound"])
async def test_a_quick_method_that_raises_is_answered_as_the_general_path_answers(fake, monkeypatch, method):
    """A translator's bug on a quick route is a server_error event and the session
    goes on, as on the general path (docs/design.md, bad input and plugin failures)."""
    fake.replies.append(Reply(text="It is sunny", chunks=3, audio_ms=40))
    real = getattr(GeminiTranslator, method)
    raised: list[str] = []

    def once(self: Any, arg: Any) -> Any:
        out = real(self, arg)
        if out is not None and not raised:
            raised.append(method)
            raise RuntimeError("boom")
        return out

    monkeypatch.setattr(GeminiTranslator, method, once)
    async with running_gateway(gemini_config(fake)) as gw:
        async with ws_connect(gw.realtime_url("gemini-live")) as ws:
            events = await stream_and_reply(gw, ws)
            assert only_relay(gw).shortcuts == ("quick appends", "quick deltas")
            assert only_relay(gw).stats.frames_in == len(STREAM) + 1
    assert raised == [method]
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and errors[0]["error"]["code"] == "internal_error"
    assert "the session continues" in errors[0]["error"]["message"]
    if method == "quick_append":
        assert "input_audio_buffer.append" in errors[0]["error"]["message"]
    assert events[-1]["type"] == "response.done"  # the session went on to its reply
