"""End to end: the official openai SDK → rt → a fake Vertex AI Live endpoint.

Authentication is real: google-auth signs a JWT with a service-account key
generated in the test, the fake OAuth endpoint verifies it and issues tokens,
and the fake Vertex endpoint accepts only unexpired tokens it issued.  Every
event a client receives is validated against the SDK's server-event union for
its dialect; the fake validates every frame rt sends with google-genai's types
and closes with 1007 on anything Vertex rejects (``audioStreamEnd``,
``willContinue``) exactly as the real service does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.fakes.gemini_live import Reply
from tests.fakes.oauth_token import FakeOAuthServer, make_service_account
from tests.fakes.vertex_live import FakeVertexLive
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, pcm16_tone, validate_server_event
from tests.vertex.conftest import vertex_config

pytestmark = pytest.mark.anyio

MODEL_RESOURCE = "projects/rt-proj/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def client(gw: Any) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="x", base_url=gw.http_url, websocket_base_url=gw.ws_url)


def text_of(events: list[dict[str, Any]], delta: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == delta)


def assert_vertex_clean(vertex: FakeVertexLive) -> None:
    """What rt sent was valid Vertex: no rejected frames, full model names, Bearer auth."""
    assert vertex.invalid == []
    assert vertex.model_errors() == []
    for c in vertex.connections:
        assert c.path == "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        assert c.headers["authorization"].startswith("Bearer ya29.fake-")
        assert "x-goog-api-key" not in c.headers
        kinds = c.kinds()
        assert "realtimeInput.audioStreamEnd" not in kinds


async def text_turn(conn: Any, dialect: str, text: str) -> list[dict[str, Any]]:
    await conn.conversation.item.create(item={"type": "message", "role": "user",
                                              "content": [{"type": "input_text", "text": text}]})
    await conn.response.create()
    return await collect_until(conn, dialect, "response.done")


# ---------------------------------------------------------------------------------------------- text


async def test_ga_text_session_with_service_account(vertex: FakeVertexLive, oauth: FakeOAuthServer,
                                                    service_account: dict[str, Any]) -> None:
    vertex.replies.append(Reply(text="Hello from Vertex AI", chunks=2))
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            first = await next_event(conn, "ga")
            assert first["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                               "instructions": "Be brief."})
            await collect_until(conn, "ga", "session.updated")
            events = await text_turn(conn, "ga", "hello vertex")
    assert text_of(events, "response.output_text.delta") == "Hello from Vertex AI"
    done = events[-1]["response"]
    assert done["status"] == "completed"
    # Vertex's usage names (candidatesTokenCount …) became OpenAI usage.
    usage = done["usage"]
    assert usage["output_tokens"] == 5 and usage["output_token_details"]["text_tokens"] == 5
    assert usage["input_tokens"] == 17 and usage["total_tokens"] == 22

    [conn_seen] = vertex.connections
    assert conn_seen.setup is not None and conn_seen.setup["model"] == MODEL_RESOURCE
    assert oauth.is_valid(vertex.bearer(0))
    assert [g["subject"] for g in oauth.grants] == [service_account["client_email"]]
    assert_vertex_clean(vertex)


async def test_beta_client_with_credentials_file(vertex: FakeVertexLive, sa_file: Any) -> None:
    vertex.replies.append(Reply(text="Beta says hi", chunks=1))
    async with running_gateway(vertex_config(vertex, str(sa_file))) as gw:
        async with client(gw).beta.realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "beta"))["type"] == "session.created"
            await conn.session.update(session={"modalities": ["text"]})
            await collect_until(conn, "beta", "session.updated")
            events = await text_turn(conn, "beta", "hi")
    assert text_of(events, "response.text.delta") == "Beta says hi"
    assert_vertex_clean(vertex)


async def test_concurrent_sessions_share_one_token(vertex: FakeVertexLive, oauth: FakeOAuthServer,
                                                   service_account: dict[str, Any]) -> None:
    oauth.delay = 0.2
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async def one() -> None:
            async with client(gw).realtime.connect(model="vertex-live") as conn:
                assert (await next_event(conn, "ga"))["type"] == "session.created"
                await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await collect_until(conn, "ga", "session.updated")
                await text_turn(conn, "ga", "hi")

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one)
    assert len(vertex.connections) == 3
    assert len(oauth.grants) == 1
    assert len({vertex.bearer(i) for i in range(3)}) == 1
    assert_vertex_clean(vertex)


# ---------------------------------------------------------------------------------------------- audio


async def test_audio_turn_committed_under_server_vad_gets_its_reply(
        vertex: FakeVertexLive, service_account: dict[str, Any]) -> None:
    """Vertex has no audioStreamEnd: rt ends the committed turn another way, and
    the reply still comes (exactly one)."""
    vertex.replies.append(Reply(text="I heard you", chunks=2, input_transcript="what is the weather"))
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"],
                                               "audio": {"input": {"transcription": {"model": "whisper-1"}}}})
            await collect_until(conn, "ga", "session.updated")
            speech = pcm16_tone(600)
            for i in range(0, len(speech), 4800):  # 100 ms chunks of 24 kHz speech, no trailing silence
                await conn.input_audio_buffer.append(audio=b64(speech[i:i + 4800]))
            await conn.input_audio_buffer.commit()
            events = await collect_until(conn, "ga", "response.done", timeout=10)
    types = [e["type"] for e in events]
    assert "input_audio_buffer.committed" in types
    assert types.count("response.created") == 1
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert len(audio) > 0
    assert text_of(events, "response.output_audio_transcript.delta") == "I heard you"
    usage = events[-1]["response"]["usage"]
    assert usage["output_token_details"]["audio_tokens"] == 25
    assert_vertex_clean(vertex)
    assert not any("audioStreamEnd" in json.dumps(m) for m in vertex.all_received())


async def test_speech_then_silence_is_answered_by_vertex_vad(
        vertex: FakeVertexLive, service_account: dict[str, Any]) -> None:
    vertex.replies.append(Reply(text="Spoken reply", chunks=2))
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            audio = pcm16_tone(500) + bytes(24000 * 2)  # speech, then 1 s of silence
            for i in range(0, len(audio), 4800):
                await conn.input_audio_buffer.append(audio=b64(audio[i:i + 4800]))
            events = await collect_until(conn, "ga", "response.done", timeout=10)
    types = [e["type"] for e in events]
    assert "input_audio_buffer.speech_started" in types and "input_audio_buffer.committed" in types
    assert text_of(events, "response.output_audio_transcript.delta") == "Spoken reply"
    assert_vertex_clean(vertex)


# ---------------------------------------------------------------------------------------------- tools


@pytest.mark.parametrize("vertex_sends_ids", [True, False])
async def test_function_call_round_trip(vertex: FakeVertexLive, service_account: dict[str, Any],
                                        vertex_sends_ids: bool) -> None:
    """Newer Vertex models send call ids and want them back; older ones send
    none, and then the functionResponse must not carry one either."""
    call: dict[str, Any] = {"name": "get_weather", "args": {"city": "Paris"}}
    if not vertex_sends_ids:
        call["id"] = None
    vertex.replies += [Reply(tool_calls=[call]), Reply(text="It is sunny in Paris", chunks=2)]
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                               "tools": [WEATHER_TOOL]})
            await collect_until(conn, "ga", "session.updated")
            events = await text_turn(conn, "ga", "weather in Paris?")
            [fc] = [e for e in events if e["type"] == "response.function_call_arguments.done"]
            assert fc["name"] == "get_weather" and json.loads(fc["arguments"]) == {"city": "Paris"}
            await conn.conversation.item.create(item={"type": "function_call_output", "call_id": fc["call_id"],
                                                      "output": json.dumps({"sky": "sunny"})})
            await conn.response.create()
            final = await collect_until(conn, "ga", "response.done")
    assert text_of(final, "response.output_text.delta") == "It is sunny in Paris"
    [tool_response] = [m for m in vertex.all_received() if "toolResponse" in m or "tool_response" in m]
    [fr] = (tool_response.get("toolResponse") or tool_response["tool_response"])["functionResponses"]
    assert fr["name"] == "get_weather" and fr["response"]
    assert "willContinue" not in fr and "will_continue" not in fr
    if vertex_sends_ids:
        assert fr["id"] == fc["call_id"]
    else:
        assert "id" not in fr
    assert_vertex_clean(vertex)


# ---------------------------------------------------------------------------------------------- tokens over time


async def test_expired_token_is_refreshed_for_the_goaway_reconnect(
        vertex: FakeVertexLive, oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    """A token that expires mid-session is replaced before the next connection
    opens: the resumed connection presents a new, valid token."""
    oauth.expires_in = 2  # refreshed once less than half its life (1 s) remains
    vertex.replies += [Reply(text="first answer", chunks=1), Reply(text="second answer", chunks=1)]
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect_until(conn, "ga", "session.updated")
            first = await text_turn(conn, "ga", "one")
            assert text_of(first, "response.output_text.delta") == "first answer"
            await anyio.sleep(1.2)  # the first token is now within its refresh window
            await vertex.go_away("10s")
            with anyio.fail_after(5):
                while len(vertex.connections) < 2 or vertex.connections[1].session is None:
                    await anyio.sleep(0.02)
            second = await text_turn(conn, "ga", "two")
            assert text_of(second, "response.output_text.delta") == "second answer"
    old, new = vertex.connections
    assert new.resumed_from is not None and new.session is old.session  # the same Vertex session, resumed
    assert vertex.bearer(0) != vertex.bearer(1)
    assert oauth.is_valid(vertex.bearer(1))
    assert len(oauth.grants) == 2
    assert_vertex_clean(vertex)


async def test_unexpected_close_resumes_with_a_fresh_token(
        vertex: FakeVertexLive, oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.expires_in = 1
    vertex.replies += [Reply(text="before", chunks=1), Reply(text="after", chunks=1)]
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect_until(conn, "ga", "session.updated")
            await text_turn(conn, "ga", "one")
            await anyio.sleep(1.1)  # the first token has expired: Vertex would refuse it now
            assert not oauth.is_valid(vertex.bearer(0))
            await vertex.close_connection(1011, "Internal error")
            with anyio.fail_after(5):
                while len(vertex.connections) < 2 or vertex.connections[1].session is None:
                    await anyio.sleep(0.02)
            after = await text_turn(conn, "ga", "two")
    assert text_of(after, "response.output_text.delta") == "after"
    assert vertex.connections[1].resumed_from is not None
    assert vertex.connections[1].closed is None or vertex.connections[1].closed[0] != 1008
    assert_vertex_clean(vertex)


# ---------------------------------------------------------------------------------------------- failures


async def test_credentials_refused_at_session_start_is_a_clear_error(vertex: FakeVertexLive,
                                                                    oauth: FakeOAuthServer) -> None:
    stranger = make_service_account(oauth.token_uri, email="stranger@rt-test-project.iam.gserviceaccount.com")
    async with running_gateway(vertex_config(vertex, stranger)) as gw:
        async with ws_connect(gw.realtime_url("vertex-live")) as ws:
            with anyio.fail_after(10):
                err = json.loads(await ws.recv())
                validate_server_event(err, "ga")
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        await ws.recv()
    assert err["type"] == "error"
    message = err["error"]["message"]
    assert "vertex_ai/gemini-live-2.5-flash" in message  # names the deployment
    assert "invalid_grant" in message
    assert "PRIVATE KEY" not in message and stranger["private_key_id"] not in message
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1014
    assert vertex.connections == []  # never reached Vertex without a token


async def test_refresh_refused_on_reconnect_ends_the_session_clearly(
        vertex: FakeVertexLive, oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.expires_in = 1
    vertex.replies.append(Reply(text="only answer", chunks=1))
    async with running_gateway(vertex_config(vertex, service_account)) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect_until(conn, "ga", "session.updated")
            await text_turn(conn, "ga", "one")
            await anyio.sleep(0.6)  # past half the token's life: the reconnect must refresh it
            oauth.fail_with.append((400, {"error": "invalid_grant", "error_description": "Account disabled."}))
            await vertex.go_away("10s")
            err = await collect_until(conn, "ga", "error", timeout=10)
    message = err[-1]["error"]["message"]
    assert "reconnect failed" in message and "invalid_grant: Account disabled." in message
    assert "PRIVATE KEY" not in message
    assert len(vertex.connections) == 1  # no connection attempted without a valid token


# ---------------------------------------------------------------------------------------------- variants


async def test_quota_project_header_and_v1(vertex: FakeVertexLive, oauth: FakeOAuthServer) -> None:
    info = oauth.service_account(quota_project_id="billing-proj")
    vertex.replies.append(Reply(text="ok", chunks=1))
    async with running_gateway(vertex_config(vertex, info, api_version="v1")) as gw:
        async with client(gw).realtime.connect(model="vertex-live") as conn:
            assert (await next_event(conn, "ga"))["type"] == "session.created"
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect_until(conn, "ga", "session.updated")
            await text_turn(conn, "ga", "hi")
    [c] = vertex.connections
    assert c.path == "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"
    assert c.headers["x-goog-user-project"] == "billing-proj"
    assert vertex.invalid == []


async def test_express_mode_api_key(oauth: FakeOAuthServer) -> None:
    fake = FakeVertexLive(oauth=oauth, api_key="express-key")
    fake.replies.append(Reply(text="express", chunks=1))
    async with fake.running():
        cfg = {"model_list": [{"model_name": "vertex-live", "litellm_params": {
            "model": "vertex_ai/gemini-live-2.5-flash", "api_key": "express-key", "api_base": fake.api_base,
            "setup_grace": 0.2}}]}
        async with running_gateway(cfg) as gw:
            async with client(gw).realtime.connect(model="vertex-live") as conn:
                assert (await next_event(conn, "ga"))["type"] == "session.created"
                await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await collect_until(conn, "ga", "session.updated")
                events = await text_turn(conn, "ga", "hi")
    assert text_of(events, "response.output_text.delta") == "express"
    [c] = fake.connections
    assert c.headers["x-goog-api-key"] == "express-key" and "authorization" not in c.headers
    assert fake.model_errors(express=True) == []
    assert oauth.grants == []
