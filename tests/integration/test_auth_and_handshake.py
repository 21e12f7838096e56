"""Keys, master key refusals, unknown models, subprotocols, HTTP endpoints."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

import anyio
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import next_event, openai_config

pytestmark = pytest.mark.anyio
MASTER = "sk-master-secret"


@pytest.fixture
async def gw():
    fake = FakeOpenAI()
    async with fake.running():
        cfg = openai_config(fake.api_base, general_settings={"master_key": MASTER})
        async with running_gateway(cfg) as gw:
            gw.fake = fake
            yield gw


async def refused(url: str, **kw) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(url, **kw):
            pass
    resp = info.value.response
    return resp.status_code, json.loads(resp.body)


async def test_missing_key_is_401_with_json(gw):
    status, body = await refused(gw.realtime_url("gpt-realtime"))
    assert status == 401
    assert body["error"]["code"] == "missing_api_key"


async def test_wrong_key_is_401_with_json(gw):
    status, body = await refused(gw.realtime_url("gpt-realtime"), additional_headers={"Authorization": "Bearer nope"})
    assert status == 401
    assert body["error"]["code"] == "invalid_api_key"
    assert "nope" not in json.dumps(body)


async def test_unknown_model_is_404_naming_it(gw):
    status, body = await refused(gw.realtime_url("gpt-nonexistent"), additional_headers={"Authorization": f"Bearer {MASTER}"})
    assert status == 404
    assert "gpt-nonexistent" in body["error"]["message"]
    assert body["error"]["code"] == "model_not_found"


async def test_missing_model_is_400(gw):
    status, body = await refused(f"ws://127.0.0.1:{gw.port}/v1/realtime", additional_headers={"Authorization": f"Bearer {MASTER}"})
    assert status == 400 and body["error"]["param"] == "model"


@pytest.mark.parametrize("headers,subprotocols,query", [
    ({"Authorization": f"Bearer {MASTER}"}, None, ""),
    ({"api-key": MASTER}, None, ""),
    ({"X-Serverless-Authorization": f"Bearer {MASTER}"}, None, ""),
    ({}, ["realtime", f"openai-insecure-api-key.{MASTER}"], ""),
    ({}, None, f"&api-key={MASTER}"),
])
async def test_key_locations_accepted(gw, headers, subprotocols, query):
    async with ws_connect(gw.realtime_url("gpt-realtime") + query, additional_headers=headers,
                          subprotocols=subprotocols) as ws:
        if subprotocols:
            assert ws.subprotocol == "realtime"  # echoed so browsers accept the handshake
        with anyio.fail_after(5):
            assert json.loads(await ws.recv())["type"] == "session.created"
    # the client's key is never forwarded upstream: rt uses the deployment's key
    sent = gw.fake.connections[-1].headers
    assert sent.get("Authorization") == "Bearer sk-upstream"
    assert MASTER not in json.dumps(sent)


async def test_beta_subprotocol_selects_beta_dialect(gw):
    async with ws_connect(gw.realtime_url("gpt-realtime"),
                          subprotocols=["realtime", f"openai-insecure-api-key.{MASTER}", "openai-beta.realtime-v1"]) as ws:
        assert ws.subprotocol == "realtime"
        ws_ev = None
        with anyio.fail_after(5):
            ws_ev = json.loads(await ws.recv())
        assert ws_ev["type"] == "session.created"
        assert "modalities" in ws_ev["session"]  # beta session shape


async def test_sdk_with_master_key(gw):
    client = AsyncOpenAI(api_key=MASTER, base_url=gw.http_url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        assert (await next_event(conn, "ga"))["type"] == "session.created"


def _get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_http_endpoints(gw):
    base = f"http://127.0.0.1:{gw.port}"
    assert (await anyio.to_thread.run_sync(_get, base + "/health/liveliness"))[0] == 200
    status, body = await anyio.to_thread.run_sync(_get, base + "/health/readiness")
    assert status == 200 and body["status"] == "healthy"
    status, body = await anyio.to_thread.run_sync(_get, base + "/v1/models")
    assert status == 401
    status, body = await anyio.to_thread.run_sync(_get, base + "/v1/models", {"Authorization": f"Bearer {MASTER}"})
    assert status == 200 and [m["id"] for m in body["data"]] == ["gpt-realtime"]
    status, body = await anyio.to_thread.run_sync(_get, base + "/v1/realtime?model=gpt-realtime")
    assert status == 426


# ---------------------------------------------------------------------- RFC 6455 upgrade requests, raw


async def raw_upgrade(gw, **overrides: str | None) -> tuple[bytes, dict[str, str], bytes]:
    """Send an upgrade request spelled byte by byte (a header set to None is
    left out); return the status line, the headers and what followed them."""
    url = urlsplit(gw.realtime_url("gpt-realtime"))
    headers: dict[str, str | None] = {
        "Host": url.netloc, "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
        "Authorization": f"Bearer {MASTER}", **overrides}
    request = f"GET {url.path}?{url.query} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items() if v is not None) + "\r\n"
    with anyio.fail_after(5):
        stream = await anyio.connect_tcp(url.hostname, url.port)
        async with stream:
            await stream.send(request.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, rest = data.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            got = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            if lines[0].startswith("HTTP/1.1 101"):
                while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):  # the first frame: session.created
                    rest += await stream.receive()
            else:
                while len(rest) < int(got.get("content-length", "0")):
                    rest += await stream.receive()
    return lines[0].encode(), got, rest


async def test_upgrade_with_a_connection_token_list_is_accepted(gw):
    """RFC 6455 asks for an 'upgrade' token in Connection; Firefox sends a list."""
    status, headers, first = await raw_upgrade(gw, Connection="keep-alive, Upgrade", Upgrade="WebSocket")
    assert status.startswith(b"HTTP/1.1 101")
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # the RFC's own example
    assert b"session.created" in first


@pytest.mark.parametrize("overrides,status,code", [
    ({"Sec-WebSocket-Version": "8"}, 426, "unsupported_websocket_version"),
    ({"Sec-WebSocket-Version": None}, 426, "unsupported_websocket_version"),
    ({"Sec-WebSocket-Key": None}, 400, "invalid_handshake"),
    ({"Sec-WebSocket-Key": "c2hvcnQ="}, 400, "invalid_handshake"),  # 5 bytes, not 16
    ({"Sec-WebSocket-Key": "not base64 at all!!"}, 400, "invalid_handshake"),
    ({"Connection": "keep-alive"}, 400, "invalid_handshake"),
])
async def test_invalid_upgrades_are_refused_in_json(gw, overrides, status, code):
    line, headers, body = await raw_upgrade(gw, **overrides)
    assert line.startswith(f"HTTP/1.1 {status}".encode())
    assert headers["content-type"] == "application/json"
    err = json.loads(body)["error"]
    assert err["code"] == code and err["message"]
    if status == 426:
        assert headers["sec-websocket-version"] == "13"
