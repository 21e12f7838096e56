"""Unreachable, refusing, dying, garbage-sending upstreams and vanishing clients:
always a clear error, never a hang."""

from __future__ import annotations

import json
import socket

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import openai_config, validate_server_event

pytestmark = pytest.mark.anyio


async def recv_json(ws, timeout: float = 5.0) -> dict:
    with anyio.fail_after(timeout):
        data = json.loads(await ws.recv())
    validate_server_event(data, "ga")
    return data


async def closed_code(ws, timeout: float = 5.0) -> int:
    with anyio.fail_after(timeout):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else 1006


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable_upstream_gives_clear_error_and_close():
    cfg = openai_config(f"http://127.0.0.1:{free_port()}")
    async with running_gateway(cfg) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            err = await recv_json(ws)
            assert err["type"] == "error"
            assert err["error"]["code"] == "upstream_unavailable"
            assert "gpt-realtime" in err["error"]["message"]
            assert "1 deployment" in err["error"]["message"]
            assert await closed_code(ws) == 1014


async def test_connect_timeout_is_configurable_and_never_hangs():
    # A TCP listener that never answers the WebSocket handshake.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        cfg = openai_config(f"http://127.0.0.1:{port}", litellm_settings={"connect_timeout": 0.5})
        async with running_gateway(cfg) as gw:
            async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
                with anyio.fail_after(4):
                    err = await recv_json(ws)
                assert err["error"]["code"] == "upstream_unavailable"
                assert "0.5 s" in err["error"]["message"]
                assert await closed_code(ws) == 1014


@pytest.mark.parametrize("status", [401, 500])
async def test_handshake_refusal_carries_upstream_message(status):
    fake = FakeOpenAI(refuse_status=status)
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            err = await recv_json(ws)
            assert err["error"]["code"] == "upstream_unavailable"
            assert f"HTTP {status}" in err["error"]["message"]
            assert f"fake refused with {status}" in err["error"]["message"]
            assert "sk-upstream" not in err["error"]["message"]
            assert await closed_code(ws) == 1014


async def test_wrong_upstream_key_is_reported_without_the_key():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base, key="sk-wrong-secret")) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            err = await recv_json(ws)
            assert "HTTP 401" in err["error"]["message"]
            assert "Incorrect API key" in err["error"]["message"]
            assert "sk-wrong-secret" not in json.dumps(err)


async def test_upstream_close_code_and_reason_reach_the_client():
    fake = FakeOpenAI(close_after=1, close_code=1011, close_reason="model overloaded")
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            events = []
            with anyio.fail_after(5):
                while True:
                    ev = await recv_json(ws)
                    events.append(ev)
                    if ev["type"] == "error":
                        break
            err = events[-1]["error"]
            assert err["code"] == "upstream_closed"
            assert "1011" in err["message"] and "model overloaded" in err["message"]
            assert await closed_code(ws) == 1011


async def test_upstream_garbage_becomes_an_error_event_and_session_goes_on():
    fake = FakeOpenAI(send_garbage_after=1)
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_json(ws)
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            seen = [(await recv_json(ws)), (await recv_json(ws))]
            kinds = {e["type"] for e in seen}
            assert kinds == {"input_audio_buffer.cleared", "error"}
            err = next(e for e in seen if e["type"] == "error")
            assert err["error"]["code"] == "upstream_invalid_frame"
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            assert (await recv_json(ws))["type"] == "input_audio_buffer.cleared"


async def test_client_vanishing_closes_upstream_within_a_second():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        ws = await ws_connect(gw.realtime_url("gpt-realtime"))
        await recv_json(ws)
        assert len(gw.gateway.relays) == 1
        ws.transport.abort()  # no close frame: the client just disappears
        with anyio.fail_after(1.5):
            while gw.gateway.relays:
                await anyio.sleep(0.02)
        upstream_socket = fake.connections[0]
        assert upstream_socket is not None


#: Upstream events whose type can be peeked but whose text rt cannot relay once
#: it needs their fields (a watched type, or any re-spelling for a beta client).
UNRELAYABLE = [
    ('{"type":"error","error":{"message":', "truncated JSON"),
    ('{"type":"session.updated","session":{"instructions":"\\ud800"}}', "an unpaired surrogate"),
    ('{"type":"response.done","response":{"output":' + "[" * 300 + "]" * 300 + "}}", "nested 300 deep"),
]


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_unrelayable_upstream_events_become_error_events_and_session_goes_on(dialect):
    """Each one is dropped with an ``upstream_invalid_frame`` error to the client
    (before, the lazy parse failed inside the relay and the session closed with
    1011); the events after it still arrive."""
    from websockets.asyncio.server import serve as ws_serve

    created = json.dumps({"type": "session.created", "event_id": "e0", "session": {
        "type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime"}})
    sentinel = json.dumps({"type": "input_audio_buffer.cleared", "event_id": "e9"})

    async def upstream(ws):
        await ws.send(created)
        for text, _ in UNRELAYABLE:
            await ws.send(text)
        await ws.send(sentinel)
        await ws.wait_closed()

    async with ws_serve(upstream, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with running_gateway(openai_config(f"http://127.0.0.1:{port}")) as gw:
            headers = {"OpenAI-Beta": "realtime=v1"} if dialect == "beta" else {}
            async with ws_connect(gw.realtime_url("gpt-realtime"), additional_headers=headers) as ws:
                seen = []
                with anyio.fail_after(5):
                    while not seen or seen[-1]["type"] != "input_audio_buffer.cleared":
                        data = json.loads(await ws.recv())
                        validate_server_event(data, dialect)
                        seen.append(data)
                assert seen[0]["type"] == "session.created"
                errors = [e["error"] for e in seen if e["type"] == "error"]
                assert [e["code"] for e in errors] == ["upstream_invalid_frame"] * len(UNRELAYABLE)
                assert [e["type"] for e in errors] == ["server_error"] * len(UNRELAYABLE)
                assert "truncated" not in errors[0]["message"] and "'error' event" in errors[0]["message"]
                assert "surrogate" in errors[1]["message"] and "256 levels" in errors[2]["message"]
