"""The real aws-sdk-bedrock-runtime client (CRT, HTTP/2, TLS, SigV4, event
stream) through rt's NovaUpstream against the fake Nova Sonic server."""

from __future__ import annotations

import json
import socket

import anyio
import pytest

from rt_core import UpstreamConnectError
from rt_bedrock import wire
from rt_bedrock.control import Frame, OpenStream, PromoteStream, StreamError, StreamOpened
from rt_bedrock.upstream import NovaUpstream

from .conftest import NOVA2, make_settings

pytestmark = pytest.mark.anyio


def _upstream(fake, **kw):
    s = make_settings(api_base=fake.url, tls_ca_file=fake.ca_file, handshake_timeout_s=2, **kw)
    return NovaUpstream(s, NOVA2, first_events=[wire.session_start(wire.DEFAULT_INFERENCE)], label="test")


async def _prompt(up, gen=0):
    for e in [wire.prompt_start("p", "matthew", [], None),
              *wire.text_block("p", "sys", "SYSTEM", "Be brief.", interactive=False)]:
        await up.send(Frame(gen, e))


async def _next_event(up, name, timeout=5):
    with anyio.fail_after(timeout):
        while True:
            f = await up.receive()
            if isinstance(f, bytes):
                if name in json.loads(f)["event"]:
                    return json.loads(f)["event"][name]
            elif name == type(f).__name__:
                return f


async def test_text_turn_round_trip_over_http2_tls(fake_nova):
    up = _upstream(fake_nova)
    await up.open()
    try:
        await _prompt(up)
        for e in wire.text_block("p", "t1", "USER", "What is up?", interactive=True):
            await up.send(Frame(0, e))
        text = await _next_event(up, "textOutput")
        assert text["role"] == "USER" and text["content"] == "What is up?"
        end = None
        while end is None or end.get("stopReason") != "END_TURN" or end.get("type") != "TEXT":
            end = await _next_event(up, "contentEnd")
    finally:
        await up.aclose()
    (rec,) = fake_nova.streams
    assert rec.model_id == NOVA2 and rec.path.endswith("amazon.nova-2-sonic-v1%3A0/invoke-with-bidirectional-stream")
    assert rec.access_key_id == "AKIDTEST" and rec.region == "us-east-1"
    assert "test-secret" not in json.dumps(rec.headers)
    assert rec.violations == []
    # aclose ended the stream politely: promptEnd and sessionEnd need the translator's
    # closing events, which this test does not give, so the input just ends.
    assert rec.names()[:2] == ["sessionStart", "promptStart"]


@pytest.mark.parametrize("status, kind, retryable", [
    (429, "ThrottlingException", True),
    (503, "ServiceUnavailableException", True),
    (400, "ValidationException", False),
    (403, "AccessDeniedException", False),
])
async def test_connect_errors_are_upstream_connect_errors(fake_nova, status, kind, retryable):
    fake_nova.connect_errors.append((status, kind, "no luck"))
    up = _upstream(fake_nova)
    with pytest.raises(UpstreamConnectError) as exc:
        await up.open()
    await up.aclose()
    assert exc.value.retryable is retryable
    assert kind in exc.value.message and "no luck" in exc.value.message
    assert "test-secret" not in exc.value.message


async def test_unreachable_endpoint_is_a_retryable_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    up = NovaUpstream(make_settings(api_base=f"https://127.0.0.1:{port}"), NOVA2, label="test")
    with pytest.raises(UpstreamConnectError) as exc:
        with anyio.fail_after(10):
            await up.open()
    await up.aclose()
    assert exc.value.retryable


@pytest.mark.parametrize("kind", ["ThrottlingException", "ModelTimeoutException", "ValidationException",
                                  "ServiceUnavailableException", "InternalServerException"])
async def test_midstream_exceptions_reach_the_translator_as_stream_errors(fake_nova, kind):
    up = _upstream(fake_nova)
    await up.open()
    try:
        await _prompt(up)
        await anyio.sleep(0.05)
        fake_nova.inject_error(kind, "it broke")
        err = await _next_event(up, "StreamError")
    finally:
        await up.aclose()
    assert isinstance(err, StreamError) and err.gen == 0
    assert err.error.kind == kind and err.error.message == "it broke"


async def test_hand_over_to_a_second_stream(fake_nova):
    up = _upstream(fake_nova)
    await up.open()
    try:
        await _prompt(up)
        await up.send(OpenStream(1, (wire.session_start(wire.DEFAULT_INFERENCE),)))
        opened = await _next_event(up, "StreamOpened")
        assert opened == StreamOpened(1)
        # A frame for generation 1 sent before the promotion waits for it.
        early = wire.text_block("p", "t1", "USER", "After the hand-over", interactive=True)
        await up.send(Frame(1, early[0]))
        seed = (wire.prompt_start("p", "matthew", [], None),
                *wire.text_block("p", "sys2", "SYSTEM", "Be brief.", interactive=False))
        await up.send(PromoteStream(1, seed, (wire.prompt_end("p"), wire.session_end())))
        for e in early[1:]:
            await up.send(Frame(1, e))
        text = await _next_event(up, "textOutput")
        assert text["content"] == "After the hand-over"
        with anyio.fail_after(5):
            while fake_nova.streams[0].ended is None:
                await anyio.sleep(0.02)
    finally:
        await up.aclose()
    first, second = fake_nova.streams
    assert first.ended == "closed" and first.names()[-2:] == ["promptEnd", "sessionEnd"]
    assert second.names()[:4] == ["sessionStart", "promptStart", "contentStart", "textInput"]
    assert first.violations == [] and second.violations == []
