"""End to end: the official openai SDK → rt → a fake Vertex AI Live endpoint.

Authentication is real: google-auth signs a JWT with a service-account key
generated in the test, the fake OAuth endpoint verifies it and issues tokens,
and the fake Vertex endpoint accepts only unexpired tokens it issued.  Every
event a client receives is validated against the SDK's server-event union for
its dialect; the fake validates every frame rt sends with google-genai's types
and closes with 1007 on anything Vertex rejects (``audioStreamEnd``,
``willContinue``, a model that is not a resource name) exactly as the real
service does.  Sessions are driven with the rt-gemini tests' helpers
(``tests.gemini.client_session``): the protocol is the same.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tests.fakes.gemini_live import Reply
from tests.fakes.oauth_token import FakeOAuthServer, make_service_account
from tests.fakes.vertex_live import FakeVertexLive
from tests.gemini.client_session import (
    BETA_TEXT, GA_TEXT, connect, reply_text, start, text_turn, transcript_text, types,
)
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, pcm16_tone, validate_server_event
from tests.vertex.conftest import vertex_config

pytestmark = pytest.mark.anyio

MODEL_RESOURCE = "projects/rt-proj/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"
LABEL = "vertex_ai/gemini-live-2.5-flash (vertex-live[0])"
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def assert_vertex_clean(vertex: FakeVertexLive) -> None:
    """What rt sent was valid Vertex (the fake closes with 1007 on a frame or a
    model name Vertex rejects, and records it in ``invalid``), with Bearer auth."""
    assert vertex.invalid == []
    for c in vertex.connections:
        assert c.path == "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        assert c.headers["authorization"].startswith("Bearer ya29.fake-")
        assert "x-goog-api-key" not in c.headers
        kinds = c.kinds()
        assert "realtimeInput.audioStreamEnd" not in kinds


# ---------------------------------------------------------------------------------------------- text


async def test_ga_text_session_with_service_account(vertex: FakeVertexLive, oauth: FakeOAuthServer,
                                                    service_account: dict[str, Any]) -> None:
    vertex.replies.append(Reply(text="Hello from Vertex AI", chunks=2))
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", GA_TEXT)
        events = await text_turn(conn, "ga", "hello vertex")
    assert reply_text(events) == "Hello from Vertex AI"
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
    async with running_gateway(vertex_config(vertex, str(sa_file))) as gw, \
            connect(gw, "beta", model="vertex-live") as conn:
        await start(conn, "beta", BETA_TEXT)
        events = await text_turn(conn, "beta", "hi")
    assert reply_text(events, "beta") == "Beta says hi"
    assert_vertex_clean(vertex)


async def test_concurrent_sessions_share_one_token(vertex: FakeVertexLive, oauth: FakeOAuthServer,
                                                   service_account: dict[str, Any]) -> None:
    oauth.delay = 0.2
    # The production grace (1 s) for the first session.update: with 0.2 s, a loaded
    # machine sometimes sent setup first and the update then cost a reconnect
    # (a fourth connection), which is not what this test is about.
    async with running_gateway(vertex_config(vertex, service_account, setup_grace=1.0)) as gw:
        async def one() -> None:
            async with connect(gw, model="vertex-live") as conn:
                await start(conn, "ga", GA_TEXT)
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
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", {"type": "realtime", "output_modalities": ["audio"],
                                 "audio": {"input": {"transcription": {"model": "whisper-1"}}}})
        speech = pcm16_tone(600)
        for i in range(0, len(speech), 4800):  # 100 ms chunks of 24 kHz speech, no trailing silence
            await conn.input_audio_buffer.append(audio=b64(speech[i:i + 4800]))
        await conn.input_audio_buffer.commit()
        events = await collect_until(conn, "ga", "response.done", timeout=10)
    names = types(events)
    assert "input_audio_buffer.committed" in names
    assert names.count("response.created") == 1
    audio = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta")
    assert len(audio) > 0
    assert transcript_text(events) == "I heard you"
    usage = events[-1]["response"]["usage"]
    assert usage["output_token_details"]["audio_tokens"] == 25
    assert_vertex_clean(vertex)
    assert not any("audioStreamEnd" in json.dumps(m) for m in vertex.all_received())


async def test_speech_then_silence_is_answered_by_vertex_vad(
        vertex: FakeVertexLive, service_account: dict[str, Any]) -> None:
    vertex.replies.append(Reply(text="Spoken reply", chunks=2))
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        assert (await next_event(conn, "ga"))["type"] == "session.created"
        audio = pcm16_tone(500) + bytes(24000 * 2)  # speech, then 1 s of silence
        for i in range(0, len(audio), 4800):
            await conn.input_audio_buffer.append(audio=b64(audio[i:i + 4800]))
        events = await collect_until(conn, "ga", "response.done", timeout=10)
    names = types(events)
    assert "input_audio_buffer.speech_started" in names and "input_audio_buffer.committed" in names
    assert transcript_text(events) == "Spoken reply"
    # rt-vertex resamples to 16 kHz by default (input_audio_rate: 16000): all Vertex documents.
    assert vertex.connections[0].audio_rates == [16000]
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
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", {**GA_TEXT, "tools": [WEATHER_TOOL]})
        events = await text_turn(conn, "ga", "weather in Paris?")
        [fc] = [e for e in events if e["type"] == "response.function_call_arguments.done"]
        assert fc["name"] == "get_weather" and json.loads(fc["arguments"]) == {"city": "Paris"}
        await conn.conversation.item.create(item={"type": "function_call_output", "call_id": fc["call_id"],
                                                  "output": json.dumps({"sky": "sunny"})})
        await conn.response.create()
        final = await collect_until(conn, "ga", "response.done")
    assert reply_text(final) == "It is sunny in Paris"
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
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", GA_TEXT)
        first = await text_turn(conn, "ga", "one")
        assert reply_text(first) == "first answer"
        await anyio.sleep(1.2)  # the first token is now within its refresh window
        await vertex.go_away("10s")
        await vertex.wait_for_setup(2)
        second = await text_turn(conn, "ga", "two")
        assert reply_text(second) == "second answer"
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
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "one")
        await anyio.sleep(1.1)  # the first token has expired: Vertex would refuse it now
        assert not oauth.is_valid(vertex.bearer(0))
        await vertex.close_connection(1011, "Internal error")
        await vertex.wait_for_setup(2)
        after = await text_turn(conn, "ga", "two")
    assert reply_text(after) == "after"
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
    assert LABEL in message  # names the deployment
    assert "invalid_grant" in message
    assert "PRIVATE KEY" not in message and stranger["private_key_id"] not in message
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1014
    assert vertex.connections == []  # never reached Vertex without a token


async def test_refresh_refused_on_reconnect_says_rt_could_not_reconnect(
        vertex: FakeVertexLive, oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    """The token endpoint refuses the refresh a goAway's reconnect needs: the
    client is told rt could not reconnect, and why -- not that Vertex closed."""
    oauth.expires_in = 1
    vertex.replies.append(Reply(text="only answer", chunks=1))
    async with running_gateway(vertex_config(vertex, service_account)) as gw, connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", GA_TEXT)
        await text_turn(conn, "ga", "one")
        await anyio.sleep(0.6)  # past half the token's life: the reconnect must refresh it
        oauth.fail_with.append((400, {"error": "invalid_grant", "error_description": "Account disabled."}))
        await vertex.go_away("10s")
        events = await collect_until(conn, "ga", "error", timeout=10)
        with pytest.raises(ConnectionClosed) as closed, anyio.fail_after(5):
            await next_event(conn, "ga")
    err = events[-1]["error"]
    assert err["code"] == "upstream_reconnect_failed"
    message = err["message"]
    assert message.startswith(f"rt could not reconnect to {LABEL}: cannot get a Google access token")
    assert message.count(LABEL) == 1 and "invalid_grant: Account disabled." in message
    assert "closed the connection" not in message and "PRIVATE KEY" not in message
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1014
    assert len(vertex.connections) == 1  # no connection attempted without a valid token


async def test_wrong_model_resource_name_is_refused_like_vertex_does(
        vertex: FakeVertexLive, service_account: dict[str, Any]) -> None:
    """Vertex closes with 1007 on a ``setup.model`` that is not a model resource
    name; rt passes ``projects/…`` names through, so the client sees that close."""
    bad = "projects/rt-proj/locations/us-central1/models/gemini-live-2.5-flash"  # no publishers/google
    async with running_gateway(vertex_config(vertex, service_account, model=bad)) as gw, \
            connect(gw, model="vertex-live") as conn:
        assert (await next_event(conn, "ga"))["type"] == "session.created"
        await conn.session.update(session=GA_TEXT)
        events = await collect_until(conn, "ga", "error")
    err = events[-1]["error"]
    assert err["code"] == "upstream_invalid_argument"
    assert err["message"].startswith("Gemini Live closed the connection with code 1007: Request contains an invalid")
    [c] = vertex.connections
    assert c.setup is not None and c.setup["model"] == bad and c.closed is not None and c.closed[0] == 1007
    assert [what for what, _ in vertex.invalid] == ["setup"]


# ---------------------------------------------------------------------------------------------- variants


async def test_quota_project_header_and_v1(vertex: FakeVertexLive, oauth: FakeOAuthServer) -> None:
    info = oauth.service_account(quota_project_id="billing-proj")
    vertex.replies.append(Reply(text="ok", chunks=1))
    async with running_gateway(vertex_config(vertex, info, api_version="v1", setup_grace=10)) as gw, \
            connect(gw, model="vertex-live") as conn:
        await start(conn, "ga", GA_TEXT)
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
            "setup_grace": 10}}]}  # one connection is asserted below
        async with running_gateway(cfg) as gw, connect(gw, model="vertex-live") as conn:
            await start(conn, "ga", GA_TEXT)
            events = await text_turn(conn, "ga", "hi")
    assert reply_text(events) == "express"
    [c] = fake.connections
    assert c.headers["x-goog-api-key"] == "express-key" and "authorization" not in c.headers
    assert c.setup is not None and c.setup["model"] == "publishers/google/models/gemini-live-2.5-flash"
    assert fake.invalid == []  # the fake refuses any other model form on an express connection
    assert oauth.grants == []
