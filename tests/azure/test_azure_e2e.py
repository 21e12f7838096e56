"""End to end: the official openai SDK → rt → a fake Azure resource on loopback.

Both upstream endpoints (preview/beta and v1/GA) with both client dialects;
every event a client receives is validated against the SDK union of its
dialect, and the fake validates everything rt sends upstream.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect

import rt_azure.plugin
from tests.azure.support import gateway, recv_until, recv_valid, types, validate
from tests.fakes.azure_realtime import FakeAzure
from tests.fakes.openai_realtime import tone

pytestmark = pytest.mark.anyio

PREVIEW_VERSION = "2025-04-01-preview"
DEPLOYMENT = "gpt-realtime-dep"
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def azure_params(fake: FakeAzure, protocol: str, deployment: str = DEPLOYMENT, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"model": f"azure/{deployment}", "api_base": fake.api_base, "api_key": "azure-key"}
    if protocol == "beta":
        params.update(realtime_protocol="beta", api_version=PREVIEW_VERSION)
    else:
        params.update(realtime_protocol="GA")
    params.update(extra)
    return params


def running_gateway(cfg: dict[str, Any]) -> Any:
    return gateway(cfg, {"azure": rt_azure.plugin})


def config(*params: dict[str, Any], master_key: str | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = {"model_list": [{"model_name": "azure-rt", "litellm_params": p} for p in params]}
    if master_key:
        cfg["general_settings"] = {"master_key": master_key}
    return cfg


def header(conn: Any, name: str) -> str | None:
    for k, v in conn.headers.items():
        if k.lower() == name.lower():
            return v
    return None


async def ga_text_turn(conn: Any) -> list[dict[str, Any]]:
    first = await recv_valid(conn, "ga")
    assert first["type"] == "session.created"
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."})
    await recv_until(conn, "ga", "session.updated")
    await conn.conversation.item.create(item={"type": "message", "role": "user",
                                              "content": [{"type": "input_text", "text": "hello azure"}]})
    await conn.response.create()
    return await recv_until(conn, "ga", "response.done")


async def beta_text_turn(conn: Any) -> list[dict[str, Any]]:
    first = await recv_valid(conn, "beta")
    assert first["type"] == "session.created"
    await conn.session.update(session={"modalities": ["text"], "instructions": "Be brief."})
    await recv_until(conn, "beta", "session.updated")
    await conn.conversation.item.create(item={"type": "message", "role": "user",
                                              "content": [{"type": "input_text", "text": "hello azure"}]})
    await conn.response.create()
    return await recv_until(conn, "beta", "response.done")


def text_of(events: list[dict[str, Any]], delta_type: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == delta_type)


@pytest.mark.parametrize("upstream", ["GA", "beta"])
async def test_ga_client_text_turn(upstream: str) -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, upstream))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="azure-rt") as conn:
            events = await ga_text_turn(conn)
    assert text_of(events, "response.output_text.delta") == "You said: hello azure"
    assert "response.output_text.done" in types(events)
    # Every GA item announced with .added is finalised with .done, whatever the upstream dialect.
    added = {e["item"]["id"] for e in events if e["type"] == "conversation.item.added"}
    done = {e["item"]["id"] for e in events if e["type"] == "conversation.item.done"}
    assert added and added == done
    (c,) = fake.connections
    expected_path = "/openai/v1/realtime?model=gpt-realtime-dep" if upstream == "GA" else \
        f"/openai/realtime?api-version={PREVIEW_VERSION}&deployment=gpt-realtime-dep"
    assert c.path == expected_path
    assert c.beta is (upstream == "beta")
    assert header(c, "api-key") == "azure-key"
    assert header(c, "Authorization") is None
    assert not fake.invalid


@pytest.mark.parametrize("upstream", ["GA", "beta"])
async def test_beta_client_text_turn(upstream: str) -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, upstream))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url, websocket_base_url=gw.ws_url)
        async with client.beta.realtime.connect(model="azure-rt") as conn:
            events = await beta_text_turn(conn)
    assert text_of(events, "response.text.delta") == "You said: hello azure"
    assert "conversation.item.created" in types(events)
    assert not fake.invalid


@pytest.mark.parametrize("upstream", ["GA", "beta"])
async def test_ga_client_audio_round_trip(upstream: str) -> None:
    """Audio sent by the client reaches Azure intact and Azure's audio comes back intact."""
    fake = FakeAzure()
    sent = tone(120)
    async with fake.running(), running_gateway(config(azure_params(fake, upstream))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="azure-rt") as conn:
            await recv_valid(conn, "ga")
            await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
            await recv_until(conn, "ga", "session.updated")
            for i in range(0, len(sent), 960):
                await conn.input_audio_buffer.append(audio=base64.b64encode(sent[i:i + 960]).decode())
            await conn.input_audio_buffer.commit()
            await recv_until(conn, "ga", "input_audio_buffer.committed")
            await conn.response.create()
            events = await recv_until(conn, "ga", "response.done")
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert audio == sent
    assert "response.output_audio_transcript.done" in types(events)
    assert not fake.invalid


async def test_function_call_from_preview_endpoint_keeps_name_for_ga_clients() -> None:
    """Beta's function_call_arguments.done has no ``name``; GA clients get it back."""
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "beta"))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="azure-rt") as conn:
            await recv_valid(conn, "ga")
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]})
            await recv_until(conn, "ga", "session.updated")
            await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                      "content": [{"type": "input_text", "text": "call get_weather"}]})
            await conn.response.create()
            events = await recv_until(conn, "ga", "response.done")
            (done,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            assert done["name"] == "get_weather"
            assert json.loads(done["arguments"]) == {"city": "Paris"}
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": done["call_id"],
                                                      "output": "sunny"})
            await conn.response.create()
            events = await recv_until(conn, "ga", "response.done")
    assert text_of(events, "response.output_text.delta") == "You said: tool said sunny"
    # The fake (beta) really left the name out: rt restored it.
    sent_upstream = [e for e in fake.all_received() if e["type"] == "session.update"]
    assert sent_upstream and "tools" in sent_upstream[0]["session"]
    assert not fake.invalid


async def test_entra_static_token_sent_as_bearer_never_with_api_key() -> None:
    fake = FakeAzure(api_key=None, bearer_token="entra-token-123")
    async with fake.running():
        params = azure_params(fake, "GA", azure_ad_token="entra-token-123")
        del params["api_key"]
        async with running_gateway(config(params)) as gw:
            client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
            async with client.realtime.connect(model="azure-rt") as conn:
                events = await ga_text_turn(conn)
    assert events[-1]["response"]["status"] == "completed"
    (c,) = fake.connections
    assert header(c, "Authorization") == "Bearer entra-token-123"
    assert header(c, "api-key") is None


async def test_handshake_refusal_reaches_client_with_azure_message() -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "GA", deployment="missing-dep"))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="azure-rt") as conn:
            err = await recv_valid(conn, "ga")
    assert err["type"] == "error"
    message = err["error"]["message"]
    assert "The API deployment for this resource does not exist" in message
    assert "404" in message
    assert "azure-key" not in message
    assert fake.refusals == [(404, "DeploymentNotFound")]


async def test_wrong_key_refusal_message() -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "beta", api_key="wrong-key"))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url, websocket_base_url=gw.ws_url)
        async with client.beta.realtime.connect(model="azure-rt") as conn:
            err = await recv_valid(conn, "beta")
    assert err["type"] == "error"
    assert "Access denied due to invalid subscription key" in err["error"]["message"]
    assert "wrong-key" not in err["error"]["message"]


async def test_failover_to_next_deployment_after_azure_refusal() -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(
            azure_params(fake, "beta", deployment="missing-dep", order=1), azure_params(fake, "GA", order=2))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
        async with client.realtime.connect(model="azure-rt") as conn:
            events = await ga_text_turn(conn)
    assert events[-1]["type"] == "response.done"
    assert fake.refusals == [(404, "DeploymentNotFound")]
    assert [c.path.split("?")[0] for c in fake.connections] == ["/openai/v1/realtime"]


async def test_plain_ws_api_base() -> None:
    """A ``ws://`` api_base (private gateway, local testing) is dialled as given."""
    fake = FakeAzure()
    async with fake.running():
        params = azure_params(fake, "GA", api_base=f"ws://127.0.0.1:{fake.port}/openai/v1")
        async with running_gateway(config(params)) as gw:
            client = AsyncOpenAI(api_key="client", base_url=gw.http_url)
            async with client.realtime.connect(model="azure-rt") as conn:
                events = await ga_text_turn(conn)
    assert events[-1]["type"] == "response.done"
    assert fake.connections[0].path == "/openai/v1/realtime?model=gpt-realtime-dep"


# ---------------------------------------------------------------- Azure-style clients of rt


async def test_azure_sdk_beta_client_through_rt() -> None:
    """``AsyncAzureOpenAI(...).beta.realtime.connect`` → rt's ``/openai/realtime`` with ``api-key``."""
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "GA"), master_key="rt-master")) as gw:
        client = AsyncAzureOpenAI(
            azure_endpoint=f"http://127.0.0.1:{gw.port}", api_key="rt-master", api_version=PREVIEW_VERSION,
            websocket_base_url=f"ws://127.0.0.1:{gw.port}/openai",
        )
        async with client.beta.realtime.connect(model="azure-rt") as conn:
            events = await beta_text_turn(conn)
    assert text_of(events, "response.text.delta") == "You said: hello azure"
    assert not fake.invalid


async def test_azure_style_raw_client_with_key_in_query() -> None:
    """A browser-style Azure client: deployment in the path query, key in the query string."""
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "beta"), master_key="rt-master")) as gw:
        url = (f"ws://127.0.0.1:{gw.port}/openai/realtime?api-version={PREVIEW_VERSION}"
               f"&deployment=azure-rt&api-key=rt-master")
        async with ws_connect(url) as ws:
            first = json.loads(await ws.recv())
            validate(first, "beta")
            assert first["type"] == "session.created"
            await ws.send(json.dumps({"type": "session.update", "session": {"modalities": ["text"]}}))
            await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}}))
            await ws.send(json.dumps({"type": "response.create"}))
            seen = []
            while not seen or seen[-1]["type"] != "response.done":
                ev = json.loads(await ws.recv())
                validate(ev, "beta")
                seen.append(ev)
    assert "response.text.delta" in types(seen)
    assert not fake.invalid


async def test_azure_style_client_wrong_key_refused_at_handshake() -> None:
    from websockets.exceptions import InvalidStatus

    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "GA"), master_key="rt-master")) as gw:
        url = f"ws://127.0.0.1:{gw.port}/openai/realtime?api-version={PREVIEW_VERSION}&deployment=azure-rt"
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(url, additional_headers={"api-key": "nope"}):
                pass
    assert info.value.response.status_code == 401
    assert not fake.connections


async def test_openai_sdk_on_azure_v1_path_through_rt() -> None:
    """The plain OpenAI client pointed at an Azure-style ``…/openai/v1`` base (Azure's v1 usage)."""
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "beta"))) as gw:
        client = AsyncOpenAI(api_key="client", base_url=f"http://127.0.0.1:{gw.port}/openai/v1")
        async with client.realtime.connect(model="azure-rt") as conn:
            events = await ga_text_turn(conn)
    assert text_of(events, "response.output_text.delta") == "You said: hello azure"


async def test_azure_sdk_ga_client_through_rt() -> None:
    fake = FakeAzure()
    async with fake.running(), running_gateway(config(azure_params(fake, "GA"), master_key="rt-master")) as gw:
        client = AsyncAzureOpenAI(
            azure_endpoint=f"http://127.0.0.1:{gw.port}", api_key="rt-master", api_version="2025-08-28",
            websocket_base_url=f"ws://127.0.0.1:{gw.port}/openai",
        )
        async with client.realtime.connect(model="azure-rt") as conn:
            events = await ga_text_turn(conn)
    assert text_of(events, "response.output_text.delta") == "You said: hello azure"
