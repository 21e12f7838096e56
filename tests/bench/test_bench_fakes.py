"""The benchmark's echo fakes speak the real wire protocols (checked with the official SDK types)."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
import websockets
from google.genai import types as genai_types
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter
from websockets.asyncio.client import connect

from bench import fakes
from bench.fakes import find_string_value, to_24k_duration

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)
AUTH = {"Authorization": "Bearer sk-test"}
GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def audio_of(raw: str | bytes) -> tuple[str | None, bytes]:
    """(mimeType, audio bytes) of the first part of a Gemini serverContent frame, via the SDK's types."""
    message = genai_types.LiveServerMessage.model_validate_json(raw)
    assert message.server_content and message.server_content.model_turn
    parts = message.server_content.model_turn.parts
    assert parts and parts[0].inline_data and parts[0].inline_data.data is not None
    return parts[0].inline_data.mime_type, parts[0].inline_data.data


def pcm(n_bytes: int) -> bytes:
    return bytes(range(256)) * (n_bytes // 256) + bytes(range(n_bytes % 256))


@pytest.mark.anyio
async def test_openai_fake_greets_and_echoes_each_append_as_one_delta(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    audio = base64.b64encode(pcm(960)).decode()
    async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", additional_headers=AUTH) as ws:
        created = SERVER_EVENT.validate_python(json.loads(await ws.recv()))
        assert created.type == "session.created"
        # The compact shape (fast path) and the json.dumps default shape with extra keys.
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}, separators=(",", ":")))
        await ws.send(json.dumps({"event_id": "e1", "type": "input_audio_buffer.append", "audio": audio}))
        for _ in range(2):
            delta = SERVER_EVENT.validate_python(json.loads(await ws.recv()))
            assert delta.type == "response.output_audio.delta"
            assert delta.delta == audio


@pytest.mark.anyio
async def test_openai_fake_unescapes_json_before_echoing(fake_server: tuple[int, int]) -> None:
    """A frame whose base64 has JSON escapes (``\\/``) takes the parsing path and echoes the real audio."""
    port, _ = fake_server
    raw = pcm(960)
    audio = base64.b64encode(raw).decode()
    assert "/" in audio
    escaped = '{"type":"input_audio_buffer.append","audio":"' + audio.replace("/", "\\/") + '"}'
    async with connect(f"ws://127.0.0.1:{port}/v1/realtime", additional_headers=AUTH) as ws:
        await ws.recv()
        await ws.send(escaped)
        delta = json.loads(await ws.recv())
        assert base64.b64decode(delta["delta"]) == raw


@pytest.mark.anyio
async def test_openai_fake_refuses_a_handshake_without_key(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"):
            pass
    assert info.value.response.status_code == 401


@pytest.mark.anyio
async def test_gemini_fake_answers_setup_then_audio_with_24k_audio_of_the_same_duration(
    fake_server: tuple[int, int],
) -> None:
    port, _ = fake_server
    chunk = pcm(640)  # 20 ms at 16 kHz
    async with connect(f"ws://127.0.0.1:{port}{GEMINI_PATH}?key=k") as ws:
        await ws.send(json.dumps({"setup": {"model": "models/gemini-live-bench"}}))
        first = await ws.recv()
        assert isinstance(first, bytes), "Google sends server messages in binary frames"
        assert genai_types.LiveServerMessage.model_validate_json(first).setup_complete is not None
        await ws.send(json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000",
                                                              "data": base64.b64encode(chunk).decode()}}}))
        reply = await ws.recv()
        assert isinstance(reply, bytes)
        mime_type, audio = audio_of(reply)
        assert mime_type == "audio/pcm;rate=24000"
        assert len(audio) == 960  # 20 ms at 24 kHz


@pytest.mark.anyio
async def test_gemini_fake_accepts_the_sdk_casings_legacy_chunks_and_urlsafe_base64(
    fake_server: tuple[int, int],
) -> None:
    port, _ = fake_server
    chunk = pcm(640)
    urlsafe = base64.urlsafe_b64encode(chunk).decode()
    assert "-" in urlsafe or "_" in urlsafe
    async with connect(f"ws://127.0.0.1:{port}{GEMINI_PATH}", additional_headers={"x-goog-api-key": "k"}) as ws:
        await ws.send(json.dumps({"setup": {"model": "models/m"}}))
        await ws.recv()
        await ws.send(json.dumps({"realtime_input": {"media_chunks": [
            {"mime_type": "audio/pcm;rate=16000", "data": urlsafe}]}}))
        assert len(audio_of(await ws.recv())[1]) == 960
        # Audio declared at 24 kHz (LiteLLM forwards it so) keeps its length.
        await ws.send(json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=24000",
                                                              "data": base64.b64encode(pcm(960)).decode()}}}))
        assert len(audio_of(await ws.recv())[1]) == 960


@pytest.mark.anyio
async def test_gemini_fake_closes_when_the_first_message_is_not_setup(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    async with connect(f"ws://127.0.0.1:{port}{GEMINI_PATH}?key=k") as ws:
        await ws.send(json.dumps({"realtimeInput": {"audioStreamEnd": True}}))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007


def test_fake_stats_endpoint_counts_echoes(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        stats = json.loads(response.read())
    assert {"openai_appends", "gemini_audio_chunks", "openai_slow_path", "rejected_handshakes"} <= stats.keys()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"type":"x","audio":"QUJD"}', b"QUJD"),
        (b'{"type": "x", "audio" :  "QUJD"}', b"QUJD"),
        (b'{"audio":"QU\\/D"}', None),  # escaped: the caller must parse
        (b'{"type":"audio"}', None),  # a value equal to the key is not the key
        (b'{"audio":{"data":"x"}}', None),  # not a string
        (b'{"other":"x"}', None),
    ],
)
def test_find_string_value(payload: bytes, expected: bytes | None) -> None:
    assert find_string_value(payload, b'"audio"') == expected


def test_to_24k_duration_keeps_duration() -> None:
    assert len(to_24k_duration(pcm(640), 16000)) == 960
    assert len(to_24k_duration(pcm(320), 8000)) == 960
    assert len(to_24k_duration(pcm(1920), 48000)) == 960
    assert to_24k_duration(pcm(960), 24000) == pcm(960)


def _reply_audio(reply: bytes | None) -> bytes:
    assert reply is not None
    mime, audio = audio_of(reply)
    assert mime == "audio/pcm;rate=24000"
    return audio


@pytest.mark.parametrize("spelling", ["standard", "urlsafe", "unpadded"])
def test_gemini_reply_at_the_output_rate_carries_the_same_audio_and_counts_its_duration(spelling: str) -> None:
    """The no-decode echo at 24 kHz gives what the decoding path gives, and counts the same milliseconds."""
    pcm = bytes(range(256)) * 7 + b"\xfb\xff\xfe\xfc"  # 1796 bytes: base64 with "=", "+" and "/"
    text = {"standard": base64.b64encode(pcm), "urlsafe": base64.urlsafe_b64encode(pcm),
            "unpadded": base64.b64encode(pcm).rstrip(b"=")}[spelling]
    before = fakes._AUDIO_IN_MS[0]
    assert _reply_audio(fakes.gemini_audio_reply(text, 24000)) == pcm
    assert fakes._AUDIO_IN_MS[0] - before == pytest.approx(len(pcm) * 500 / 24000)
    before = fakes._AUDIO_IN_MS[0]
    assert len(_reply_audio(fakes.gemini_audio_reply(base64.b64encode(pcm), 16000))) == len(pcm) * 3 // 2
    assert fakes._AUDIO_IN_MS[0] - before == pytest.approx(len(pcm) * 500 / 16000)
