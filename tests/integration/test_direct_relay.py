"""The relay's two ways of running a session (rt_core.relay, rt_core.wsdirect):
in the sockets' callbacks when both sides can (picows), else with pump tasks.
Both keep order, lose nothing and push back on a side that does not keep up."""

from __future__ import annotations

import json

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from rt_core import wslib
from tests.fakes.gemini_live import FakeGeminiLive
from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import only_relay, running_gateway
from tests.realtime_client import openai_config

pytestmark = pytest.mark.anyio

DIRECT = wslib.IMPL == "picows"


async def recv_json(ws, timeout: float = 5.0) -> dict:
    with anyio.fail_after(timeout):
        return json.loads(await ws.recv())


async def ask_for_a_reply(ws, text: str) -> list[str]:
    """Send a user message and ``response.create``; the event types received, up to ``response.done``."""
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    await ws.send(json.dumps({"type": "response.create"}))
    types: list[str] = []
    while "response.done" not in types:
        types.append((await recv_json(ws))["type"])
    return types


def gemini_config(api_base: str) -> dict:
    return {"model_list": [{"model_name": "g", "litellm_params": {
        "model": "gemini/gemini-live-2.5-flash-preview", "api_key": "test-key", "api_base": api_base}}]}


async def test_passthrough_runs_in_socket_callbacks_on_picows():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            assert (await recv_json(ws))["type"] == "session.created"
            assert only_relay(gw).mode == ("direct" if DIRECT else "pumps")
            types = await ask_for_a_reply(ws, "hello")
            assert types.index("conversation.item.added") < types.index("response.created")
            assert not fake.invalid


async def test_gemini_upstream_is_read_in_callbacks_too():
    fake = FakeGeminiLive()
    async with fake.running():
        async with running_gateway(gemini_config(fake.api_base)) as gw:
            async with ws_connect(gw.realtime_url("g")) as ws:
                assert (await recv_json(ws))["type"] == "session.created"
                # GeminiUpstream re-attaches to each new socket after a swap.
                assert only_relay(gw).mode == ("direct" if DIRECT else "pumps")


async def test_upstream_without_callbacks_is_pumped_while_the_client_is_read_in_callbacks():
    cfg = {"model_list": [{"model_name": "mock", "litellm_params": {"model": "mock/mock"}}]}
    async with running_gateway(cfg, env={}) as gw:
        async with ws_connect(gw.realtime_url("mock")) as ws:
            assert (await recv_json(ws))["type"] == "session.created"
            # The mock's upstream (like Bedrock's HTTP/2 stream) has only receive().
            assert only_relay(gw).mode == ("client-direct" if DIRECT else "pumps")
            await ask_for_a_reply(ws, "hi")  # the whole reply arrives through the pumped upstream


async def test_client_message_in_fragments_reaches_upstream_whole():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_json(ws)
            event = json.dumps({"type": "session.update", "event_id": "evt_frag", "session": {
                "type": "realtime", "instructions": "x" * 5000}})
            await ws.send([event[:100], event[100:3000], event[3000:]])  # three WebSocket frames
            updated = await recv_json(ws)
            assert updated["type"] == "session.updated"
            assert updated["session"]["instructions"] == "x" * 5000
            assert not fake.invalid


async def test_invalid_utf8_text_closes_with_1007():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_json(ws)
            await ws.send(b'{"type": "\xff\xfe"}', text=True)
            with anyio.fail_after(5):
                with pytest.raises(ConnectionClosed) as info:
                    while True:
                        await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1007


FLOOD_FRAMES = 300
FLOOD_BYTES = 256 * 1024


async def test_slow_client_pushes_back_on_the_upstream_and_loses_nothing():
    """An upstream sends ~75 MB as fast as it can while the client reads nothing:
    rt stops reading the upstream (so the upstream's sends block) instead of
    buffering it all; once the client reads, every frame arrives, in order."""
    sent = 0

    async def flood(up):
        nonlocal sent
        await up.send(json.dumps({"type": "session.created", "event_id": "e0",
                                  "session": {"type": "realtime", "id": "s", "model": "gpt-realtime"}}))
        pad = "A" * FLOOD_BYTES
        for i in range(FLOOD_FRAMES):
            await up.send(f'{{"type":"response.output_audio.delta","event_id":"e{i + 1}","response_id":"r",'
                          f'"item_id":"i","output_index":0,"content_index":0,"delta":"{pad}","seq":{i}}}')
            sent += 1
        await up.wait_closed()

    async with ws_serve(flood, "127.0.0.1", 0, max_size=None) as upstream:
        port = upstream.sockets[0].getsockname()[1]
        async with running_gateway(openai_config(f"http://127.0.0.1:{port}")) as gw:
            async with ws_connect(gw.realtime_url("gpt-realtime"), max_size=None) as ws:
                assert (await recv_json(ws))["type"] == "session.created"
                await anyio.sleep(1.5)  # not reading
                assert sent < FLOOD_FRAMES // 2, f"rt read {sent} of {FLOOD_FRAMES} frames for a client that reads nothing"
                seqs = []
                with anyio.fail_after(60):
                    while len(seqs) < FLOOD_FRAMES:
                        seqs.append(json.loads(await ws.recv())["seq"])
                assert seqs == list(range(FLOOD_FRAMES))
                assert sent == FLOOD_FRAMES


async def events_until_close(ws) -> tuple[list[dict], int]:
    got = []
    with anyio.fail_after(5):
        try:
            while True:
                got.append(json.loads(await ws.recv()))
        except ConnectionClosed as exc:
            return got, (exc.rcvd.code if exc.rcvd else 1006)


async def test_ending_a_gemini_session_says_why_once_and_nothing_after():
    """Closing the upstream is part of ending the session: it must not reach
    the client as a second error ("Gemini closed the connection")."""
    fake = FakeGeminiLive()
    async with fake.running():
        async with running_gateway(gemini_config(fake.api_base)) as gw:
            async with ws_connect(gw.realtime_url("g")) as ws:
                assert (await recv_json(ws))["type"] == "session.created"
                await ws.send(json.dumps({"type": "session.update", "session": {"instructions": "hi"}}))
                updated = await recv_json(ws)
                assert updated["type"] == "session.updated", updated
                # A reply in flight when the session ends.
                await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                    "type": "message", "role": "user", "content": [{"type": "input_text", "text": "x " * 400}]}}))
                await ws.send(json.dumps({"type": "response.create"}))
                while (await recv_json(ws))["type"] != "response.created":
                    pass
                await only_relay(gw).shutdown()
                got, code = await events_until_close(ws)
    assert code == 1001
    errors = [e for e in got if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == ["server_shutting_down"], got
    assert got[-1]["type"] == "error", got[-3:]
