"""GeminiUpstream against the fake server: URL/auth, swapping connections, drops."""

from __future__ import annotations

import base64
import json
import math
import struct

import anyio
import pytest

from rt_core import Deployment, UpstreamClosed, UpstreamConnectError, wslib
from rt_gemini import provider, wire
from rt_gemini.provider import GeminiSettings, live_url
from rt_gemini.upstream import ConnectionDropped, GeminiUpstream, Reconnect, Reconnected, ReconnectFailed
from tests.fakes.gemini_live import FakeGeminiLive, Reply

pytestmark = pytest.mark.anyio

SETUP = json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                              "generationConfig": {"responseModalities": ["TEXT"]}, "sessionResumption": {}}})


def resume_setup(handle: str) -> str:
    return json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                                 "generationConfig": {"responseModalities": ["TEXT"]},
                                 "sessionResumption": {"handle": handle}}})


def text_turn(text: str) -> str:
    return json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}})


def upstream_for(fake: FakeGeminiLive, key: str = "test-key", *, callbacks: bool = False, **params) -> GeminiUpstream:
    settings = GeminiSettings(model="gemini/gemini-live-2.5-flash-preview", api_key=key, api_base=fake.api_base, **params)
    up = provider.connect(Deployment("d1", "gemini-live", "gemini", "gemini-live-2.5-flash-preview", settings))
    if callbacks:
        up.__class__ = ReceivedByCallback
    return up


class ReceivedByCallback(GeminiUpstream):
    """``receive()`` built on ``deliver_to`` -- how the relay reads the upstream on
    picows -- so the same scenarios check both ways of reading."""

    async def open(self) -> None:
        await super().open()
        assert self.direct is self, "picows connections deliver by callback"
        self._got: list = []
        self._wake = anyio.Event()
        self.on_closed = lambda: self._wake.set()
        self._got.extend(self.deliver_to(self._deliver))

    def _deliver(self, frame) -> None:
        self._got.append(frame)
        self._wake.set()

    async def receive(self):
        while not self._got:
            if self.is_gone():
                raise UpstreamClosed(*self.received_close())
            self._wake = anyio.Event()
            await self._wake.wait()
        return self._got.pop(0)


both_ways = pytest.mark.parametrize("callbacks", [
    False, pytest.param(True, marks=pytest.mark.skipif(wslib.IMPL != "picows", reason="callbacks need picows"))])


async def recv_json(up: GeminiUpstream) -> dict:
    with anyio.fail_after(5):
        frame = await up.receive()
    assert isinstance(frame, bytes), f"expected a binary JSON frame, got {frame!r}"
    return json.loads(frame)


async def turn_text(up: GeminiUpstream) -> str:
    """The model text of the next turn, up to its turnComplete."""
    texts = []
    while True:
        sc = (await recv_json(up)).get("serverContent", {})
        texts += [p.get("text", "") for p in sc.get("modelTurn", {}).get("parts", [])]
        if sc.get("turnComplete"):
            return "".join(texts)


async def until(up: GeminiUpstream, key: str) -> dict:
    while True:
        m = await recv_json(up)
        if key in m or key in m.get("serverContent", {}):
            return m


async def set_up(up: GeminiUpstream) -> str:
    """Open ``up`` and complete ``setup``; returns the first resumption handle."""
    await up.open()
    await up.send(SETUP)
    assert "setupComplete" in await recv_json(up)
    return (await until(up, "sessionResumptionUpdate"))["sessionResumptionUpdate"]["newHandle"]


# ---------------------------------------------------------------------- URL and auth


@pytest.mark.parametrize("base,version,url", [
    (None, "v1beta", "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"),
    ("https://generativelanguage.googleapis.com", "v1alpha", "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"),
    ("https://generativelanguage.googleapis.com/v1beta", "v1", "wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"),
    ("http://127.0.0.1:9000", "v1beta", "ws://127.0.0.1:9000/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"),
    ("wss://proxy.example/gemini", "v1beta", "wss://proxy.example/gemini/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"),
    ("ws://h:1/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent", "v1beta",
     "ws://h:1/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"),
])
def test_live_url(base, version, url):
    assert live_url(base, version) == url


def test_settings_validation():
    s = GeminiSettings(model="gemini/x", api_key="k", api_version="BETA")
    assert s.api_version == "v1beta"
    with pytest.raises(ValueError):
        GeminiSettings(model="gemini/x", api_version="v2")
    with pytest.raises(ValueError):
        GeminiSettings(model="gemini/x", api_base="ftp://host")
    assert GeminiSettings(model="gemini/x").api_version == "v1beta"


def test_key_goes_in_a_header_never_in_the_url():
    fake = FakeGeminiLive(port=1)
    up = upstream_for(fake, key="secret-key-123")
    assert "secret-key-123" not in up.url
    assert up.headers["x-goog-api-key"] == "secret-key-123"
    assert "Authorization" not in up.headers
    eph = upstream_for(fake, key="auth_tokens/abc")
    assert eph.url.endswith("BidiGenerateContentConstrained") and eph.headers["Authorization"] == "Token auth_tokens/abc"


def test_pongs_are_never_required_in_time():
    up = upstream_for(FakeGeminiLive(port=1))
    assert up._socket().ping_timeout is None


def test_env_defaults():
    assert provider.env_defaults({}) == []
    (entry,) = provider.env_defaults({"GEMINI_API_KEY": "x"})
    assert entry["litellm_params"]["api_key"] == "os.environ/GEMINI_API_KEY"


async def test_bad_key_is_a_1008_close(fake):
    up = upstream_for(fake, key="wrong")
    await up.open()
    await up.send(SETUP)
    with anyio.fail_after(5):
        dropped = await up.receive()
    assert dropped == ConnectionDropped(1008, "API key not valid. Please pass a valid API key.")
    await up.aclose()


async def test_unreachable_is_a_connect_error():
    up = GeminiUpstream("ws://127.0.0.1:9/ws/x", name="gemini-test")
    with pytest.raises(UpstreamConnectError):
        await up.open()


# ---------------------------------------------------------------------- a session across connections


@both_ways
async def test_reconnect_closes_the_old_socket_first_and_resumes(fake, callbacks):
    up = upstream_for(fake, callbacks=callbacks)
    await set_up(up)
    await up.send(text_turn("first"))
    await until(up, "turnComplete")
    handle = (await until(up, "sessionResumptionUpdate"))["sessionResumptionUpdate"]["newHandle"]

    async def receiver(results: list) -> None:
        with anyio.fail_after(5):
            while True:
                frame = await up.receive()
                results.append(frame)
                if isinstance(frame, bytes) and b"setupComplete" in frame:
                    return

    results: list = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(receiver, results)
        await anyio.sleep(0.05)
        await up.send(Reconnect(resume_setup(handle), "test"))
        await up.send(text_turn("second"))  # sent right after the new setup
    assert isinstance(results[0], Reconnected)
    assert len(fake.connections) == 2
    first, second = fake.connections
    assert first.closed is not None  # closed before (or while) the new one opened
    assert second.resumed_from == handle and second.session is first.session
    assert await turn_text(up) == "Reply 2 to: second"  # the conversation went on
    assert up.reconnects == 1
    await up.aclose()
    assert fake.invalid == []


@both_ways
async def test_unexpected_close_is_reported_and_frames_are_held(fake, callbacks):
    up = upstream_for(fake, callbacks=callbacks)
    handle = await set_up(up)
    await fake.close_connection(1011, "Deadline expired")
    with anyio.fail_after(5):
        marker = await up.receive()
    assert marker == ConnectionDropped(1011, "Deadline expired")
    replayed = text_turn("sent before the drop")
    await up.send(replayed)  # also in the replay: must not be sent twice
    await up.send(text_turn("while down"))  # held, not lost
    await up.send(Reconnect(resume_setup(handle), "resume", replay=(replayed,)))
    assert isinstance(await up.receive(), Reconnected)
    assert "setupComplete" in await recv_json(up)
    assert await turn_text(up) == "Reply 1 to: sent before the drop"
    assert await turn_text(up) == "Reply 2 to: while down"
    assert [m for m in fake.connections[1].received if "clientContent" in m].__len__() == 2
    await up.aclose()


class WritesDuringSwap(GeminiUpstream):
    """Tries an immediate write from inside a swap (``refresh_headers`` runs there)."""

    async def refresh_headers(self) -> None:
        self.tried_during_swap = self.send_now(text_turn("during the swap"))


@pytest.mark.skipif(wslib.IMPL != "picows", reason="immediate writes need picows")
async def test_immediate_writes_follow_the_socket_in_use(fake):
    """send_now writes on the current socket while it is usable, and refuses (so
    the relay queues and ``send`` holds the frame) after a drop and during a
    swap; write_paused reads the socket in use, and False when there is none."""
    up = upstream_for(fake)
    handle = await set_up(up)
    assert up.send_now(text_turn("at once")) is True
    assert await turn_text(up) == "Reply 1 to: at once"
    handle = (await until(up, "sessionResumptionUpdate"))["sessionResumptionUpdate"]["newHandle"]
    assert up.write_paused is False
    await fake.close_connection(1011, "Deadline expired")
    with anyio.fail_after(5):
        assert isinstance(await up.receive(), ConnectionDropped)
    assert up.send_now(text_turn("after the drop")) is False
    assert up.write_paused is False
    up.__class__ = WritesDuringSwap
    await up.send(Reconnect(resume_setup(handle), "resume"))
    assert up.tried_during_swap is False
    assert isinstance(await up.receive(), Reconnected)
    assert "setupComplete" in await recv_json(up)
    assert up.send_now(text_turn("on the new socket")) is True
    assert await turn_text(up) == "Reply 2 to: on the new socket"
    assert not any("during the swap" in m or "after the drop" in m for c in fake.connections for m in c.received)
    await up.aclose()


@both_ways
async def test_failed_reconnect_is_reported_as_rts_failure_once(fake, callbacks):
    up = upstream_for(fake, callbacks=callbacks)
    await set_up(up)
    up.url = up.url.replace(str(fake.port), "9")  # nothing listens there
    await up.send(Reconnect(SETUP, "test"))
    with anyio.fail_after(5):
        failed = await up.receive()
    assert isinstance(failed, ReconnectFailed)
    label = "gemini/gemini-live-2.5-flash-preview (d1)"
    assert failed.message.startswith(f"rt could not reconnect to {label}: could not be reached at ws://127.0.0.1:9/")
    assert failed.message.count(label) == 1
    with pytest.raises(UpstreamClosed) as info, anyio.fail_after(5):
        await up.receive()  # then the upstream is simply closed
    assert info.value.code == 1014


@both_ways
async def test_new_connection_closed_by_gemini_is_gemini_s_close(fake, callbacks):
    up = upstream_for(fake, callbacks=callbacks)
    await set_up(up)
    fake.reject_setup = (1008, "API key not valid. Please pass a valid API key.")
    await up.send(Reconnect(SETUP, "test"))
    with anyio.fail_after(5):
        while not isinstance(frame := await up.receive(), Reconnected):
            pass
        frame = await up.receive()
    assert frame == ConnectionDropped(1008, "API key not valid. Please pass a valid API key.")
    await up.aclose()


async def test_invalid_messages_are_closed_with_1007(fake):
    up = upstream_for(fake)
    await set_up(up)
    await up.send(json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "AAAA"}, "bogus": 1}}))
    with anyio.fail_after(5):
        dropped = await up.receive()
    assert isinstance(dropped, ConnectionDropped) and dropped.code == 1007
    assert fake.invalid


@pytest.mark.parametrize("mime", ["audio/pcm", "audio/pcm;rate=zero", "audio/pcm;rate=1"])
async def test_fake_closes_with_1007_on_audio_without_a_sensible_rate(fake, mime):
    """As the service does (which is why rt always declares the rate)."""
    up = upstream_for(fake)
    await set_up(up)
    await up.send(json.dumps({"realtimeInput": {"audio": {"mimeType": mime, "data": "AAAA"}}}))
    with anyio.fail_after(5):
        dropped = await up.receive()
    assert isinstance(dropped, ConnectionDropped) and dropped.code == 1007
    assert "rate" in fake.invalid[-1][1]
    await up.aclose()


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
async def test_fake_vad_and_durations_follow_the_declared_rate(fake, rate):
    """300 ms of speech then 600 ms of silence end the turn (silence 500 ms) at any
    declared rate; read at another rate the silence would be too short or too long."""
    fake.replies.append(Reply(text="heard"))
    up = upstream_for(fake)
    await up.open()
    await up.send(json.dumps({"setup": {"model": "models/gemini-live-2.5-flash-preview",
                                        "generationConfig": {"responseModalities": ["TEXT"]}}}))
    await until(up, "setupComplete")
    speech = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate // 10))
    silence = bytes(rate // 5)  # 100 ms
    for chunk in [speech] * 3 + [silence] * 6:
        await up.send(wire.audio_frame(base64.b64encode(chunk).decode(), rate))
    assert (await until(up, "inputTranscription"))["serverContent"]["inputTranscription"]["text"].strip()
    assert await turn_text(up) == "heard"
    c = fake.connections[0]
    assert c.audio_rates == [rate] and c.audio_ms == pytest.approx(900)
    assert fake.invalid == []
    await up.aclose()


async def test_fake_speaks_binary_frames_and_scripted_replies(fake):
    fake.replies.append(Reply(text="one two three four", chunks=2))
    up = upstream_for(fake)
    await set_up(up)
    await up.send(text_turn("hi"))
    texts = []
    while True:
        m = await recv_json(up)
        sc = m.get("serverContent", {})
        texts += [p["text"] for p in sc.get("modelTurn", {}).get("parts", [])]
        if sc.get("turnComplete"):
            assert m["usageMetadata"]["responseTokenCount"] == 5
            break
    assert "".join(texts) == "one two three four"
    await up.aclose()


# ---------------------------------------------------------------------- the fake in Vertex mode (for rt-vertex)


async def test_fake_serves_the_vertex_flavour():
    fake = FakeGeminiLive(platform="vertex", bearer_token="ya29.test")
    async with fake.running():
        url = f"ws://127.0.0.1:{fake.port}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
        setup = json.dumps({"setup": {
            "model": "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash",
            "generationConfig": {"responseModalities": ["TEXT"]}}})
        up = GeminiUpstream(url, headers={"Authorization": "Bearer ya29.test"}, name="vertex-test")
        await up.open()
        await up.send(setup)
        assert "setupComplete" in await recv_json(up)
        await up.send(text_turn("hi"))
        m = await until(up, "turnComplete")
        assert m["usageMetadata"]["candidatesTokenCount"] == 5 and "responseTokenCount" not in m["usageMetadata"]
        await up.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        with anyio.fail_after(5):
            while not isinstance(dropped := await up.receive(), ConnectionDropped):
                pass
        assert dropped.code == 1007 and "Vertex" in fake.invalid[-1][1]
        bad = GeminiUpstream(url, headers={"Authorization": "Bearer wrong"}, name="vertex-test")
        await bad.open()
        await bad.send(setup)
        with anyio.fail_after(5):
            assert (await bad.receive()).code == 1008
        await up.aclose()
        await bad.aclose()


async def test_headers_are_refreshed_for_every_connection(fake):
    """rt-vertex overrides refresh_headers to renew its OAuth token on reconnects."""

    class Refreshing(GeminiUpstream):
        calls = 0

        async def refresh_headers(self) -> None:
            Refreshing.calls += 1
            self.headers["x-goog-api-key"] = "test-key"
            self.headers["x-refresh"] = str(Refreshing.calls)

    base = upstream_for(fake)
    up = Refreshing(base.url, headers={}, name="refresh-test")
    handle = await set_up(up)
    await up.send(Reconnect(resume_setup(handle), "test"))
    assert isinstance(await up.receive(), Reconnected)
    assert [c.headers["x-refresh"] for c in fake.connections] == ["1", "2"]
    await up.aclose()
