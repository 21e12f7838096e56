"""The input audio rate sent to Gemini: native (the client's own) or resampled.

``input_audio_rate: native`` (rt-gemini's default) sends pcm16 at the client's
rate and G.711 decoded to pcm16 at 8 kHz, each declared in the Blob's MIME
type; an integer resamples to that rate.  Durations the client sees must not
depend on the choice, and every blob must declare the rate of the audio it
carries, also across ``session.update`` and reconnects.
"""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from rt_core import ClientEventError
from rt_core.audio import PCM16_24K, PCMA_8K, PCMU_8K, AudioConverter, AudioFormat
from rt_gemini import wire
from rt_gemini.input_audio import InputAudio, upstream_format
from rt_gemini.provider import GeminiSettings, translator_options
from rt_gemini.upstream import Reconnect
from tests.fakes.gemini_live import declared_rate, validate_client_message

from .support import Driver, append, b64, pcm16

PCM16_8K = AudioFormat("pcm16", 8000)
PCM16_16K = AudioFormat("pcm16", 16000)


def blobs(frames: list) -> list[dict]:
    """The ``realtimeInput.audio`` blobs among parsed upstream frames."""
    return [f["realtimeInput"]["audio"] for f in frames if isinstance(f, dict) and "audio" in f.get("realtimeInput", {})]


def pcm_of(blob_list: list[dict]) -> bytes:
    return b"".join(base64.b64decode(b["data"]) for b in blob_list)


def rates(blob_list: list[dict]) -> set[int]:
    return {declared_rate(b["mimeType"]) for b in blob_list}


def g711(fmt: AudioFormat, ms: int) -> bytes:
    """``ms`` of a tone in G.711 at 8 kHz (encoded from 8 kHz pcm16: no resampler tail)."""
    return AudioConverter(PCM16_8K, fmt).convert(pcm16(ms, rate=8000))


# ---------------------------------------------------------------------- native pcm16


def test_native_pcm16_forwards_the_clients_base64_text_at_its_rate():
    d = Driver()
    d.start({})
    for i in range(5):
        chunk = pcm16(20, hz=300 + 50 * i)  # 20 ms chunks, each different
        text = b64(chunk)
        (frame,) = d.client({"type": "input_audio_buffer.append", "audio": text}).upstream
        # No resampler: each chunk goes out at once, whole, as the client's own text.
        assert frame == {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=24000", "data": text}}}
    step = d.client({"type": "input_audio_buffer.commit"})
    assert blobs(step.upstream) == []  # nothing was held back to flush
    assert step.frames()[-1] == {"realtimeInput": {"audioStreamEnd": True}}


def test_native_pcm16_reencodes_url_safe_or_unpadded_base64_and_keeps_samples_whole():
    d = Driver()
    d.start({})
    raw = bytes(range(256)) * 4  # encodes to '+' and '/' in the standard alphabet
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    (blob,) = blobs(d.client({"type": "input_audio_buffer.append", "audio": urlsafe}).upstream)
    assert blob["data"] == base64.b64encode(raw).decode()
    # An odd byte count: the half sample waits for the next chunk, nothing is lost or shifted.
    pcm = pcm16(60)
    sent = []
    for part in (pcm[:101], pcm[101:2001], pcm[2001:]):
        sent += blobs(d.client({"type": "input_audio_buffer.append", "audio": b64(part)}).upstream)
    assert all(len(base64.b64decode(b["data"])) % 2 == 0 for b in sent)
    assert pcm_of(sent) == pcm
    assert d.t.input_ms == pytest.approx((len(raw) + len(pcm)) / 48)


@pytest.mark.parametrize("bad", ["!!!not base64", "QUJD\nREVG", "A"])
def test_native_pcm16_refuses_invalid_base64_instead_of_forwarding_it(bad):
    """Gemini would close the whole session (1007) on bad audio: rt answers the client instead."""
    d = Driver()
    d.start({})
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "input_audio_buffer.append", "event_id": "e1", "audio": bad})
    assert info.value.param == "audio" and info.value.event_id == "e1"
    assert d.t.input_ms == 0


# ---------------------------------------------------------------------- native G.711


@pytest.mark.parametrize("fmt,ga", [(PCMU_8K, {"type": "audio/pcmu"}), (PCMA_8K, {"type": "audio/pcma"})])
def test_native_g711_is_decoded_to_8k_pcm16_without_resampling(fmt, ga):
    d = Driver()
    d.start({"audio": {"input": {"format": ga}}})
    coded = g711(fmt, 200)
    reference = AudioConverter(fmt, PCM16_8K).convert(coded)  # the G.711 decoding table
    sent = []
    for i in range(0, len(coded), 160):  # 20 ms chunks
        step = d.client({"type": "input_audio_buffer.append", "audio": b64(coded[i:i + 160])})
        (blob,) = blobs(step.upstream)  # one frame per chunk: nothing held back
        assert len(base64.b64decode(blob["data"])) == 320
        sent.append(blob)
    assert rates(sent) == {8000}
    assert pcm_of(sent) == reference
    assert d.t.input_ms == pytest.approx(200)
    assert blobs(d.client({"type": "input_audio_buffer.commit"}).upstream) == []


def test_native_g711_manual_turn_and_its_minimum_length():
    d = Driver()
    d.start({"output_modalities": ["text"], "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}}})
    coded = g711(PCMU_8K, 300)
    d.client({"type": "input_audio_buffer.append", "audio": b64(coded[:720])})  # 90 ms
    with pytest.raises(ClientEventError) as info:
        d.client({"type": "input_audio_buffer.commit"})
    assert info.value.code == "input_audio_buffer_commit_empty" and "90.00ms" in info.value.message
    d.client({"type": "input_audio_buffer.append", "audio": b64(coded[720:])})
    step = d.client({"type": "input_audio_buffer.commit"})
    sent = blobs(step.upstream)
    assert rates(sent) == {8000} and pcm_of(sent) == AudioConverter(PCMU_8K, PCM16_8K).convert(coded)


def test_native_user_audio_items_carry_their_rate():
    d = Driver()
    d.start({"output_modalities": ["text"], "audio": {"input": {"format": {"type": "audio/pcma"}}}})
    coded = g711(PCMA_8K, 100)
    d.client({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": b64(coded)}]}})
    step = d.client({"type": "response.create"})
    (part,) = step.frames("clientContent")[0]["clientContent"]["turns"][0]["parts"]
    assert part["inlineData"]["mimeType"] == "audio/pcm;rate=8000"
    assert base64.b64decode(part["inlineData"]["data"]) == AudioConverter(PCMA_8K, PCM16_8K).convert(coded)


# ---------------------------------------------------------------------- resampled (an integer rate)


def test_resampled_to_16k_declares_16k_and_keeps_client_durations():
    native, resampled = Driver(), Driver(input_audio_rate=16000)
    for d in (native, resampled):
        d.start({})
    # The resampler holds audio back (the latency "native" avoids).
    assert len(pcm_of(blobs(resampled.client(append(20)).upstream))) < 640  # < 20 ms at 16 kHz
    assert len(pcm_of(blobs(native.client(append(20)).upstream))) == 960  # all 20 ms at 24 kHz
    for d in (native, resampled):
        for _ in range(24):
            d.client(append(20))
    sent = blobs([f for s in resampled.log for f in s.upstream]) + blobs(resampled.client({"type": "input_audio_buffer.commit"}).upstream)
    assert rates(sent) == {16000}
    assert abs(len(pcm_of(sent)) - 16000) <= 64  # 500 ms at 16 kHz, with the flushed tail
    # What the client is told about time does not depend on the rate sent.
    assert native.t.input_ms == resampled.t.input_ms == pytest.approx(500)


def test_resampled_user_audio_item_is_16k():
    d = Driver(input_audio_rate=16000)
    d.start({"output_modalities": ["text"]})
    d.client({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": b64(pcm16(100))}]}})
    (part,) = d.client({"type": "response.create"}).frames("clientContent")[0]["clientContent"]["turns"][0]["parts"]
    assert part["inlineData"]["mimeType"] == "audio/pcm;rate=16000"
    assert abs(len(base64.b64decode(part["inlineData"]["data"])) - 3200) <= 64


# ---------------------------------------------------------------------- session.update mid-session


def test_session_update_switches_the_rate_of_the_blobs_that_follow():
    d = Driver()
    d.start({})
    before = blobs(d.client(append(40)).upstream)
    step = d.client({"type": "session.update", "session": {"type": "realtime",
                                                           "audio": {"input": {"format": {"type": "audio/pcmu"}}}}})
    assert step.one("session.updated")["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert not [f for f in step.upstream if isinstance(f, Reconnect)]  # the format is rt's own: no new connection
    after = blobs(d.client({"type": "input_audio_buffer.append", "audio": b64(g711(PCMU_8K, 40))}).upstream)
    d.client({"type": "session.update", "session": {"type": "realtime",
                                                    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}}})
    back = blobs(d.client(append(40)).upstream)
    assert [rates(x) for x in (before, after, back)] == [{24000}, {8000}, {24000}]
    assert d.t.input_ms == pytest.approx(120)


def test_session_update_sends_what_the_resampler_held_before_switching():
    d = Driver(input_audio_rate=16000)
    d.start({})
    for _ in range(10):
        d.client(append(20))  # 200 ms of 24 kHz audio, part of it still in the resampler
    step = d.client({"type": "session.update", "session": {"type": "realtime",
                                                           "audio": {"input": {"format": {"type": "audio/pcmu"}}}}})
    assert blobs(step.upstream)  # the held tail went out at once, not lost
    sent = blobs([f for s in d.log for f in s.upstream])
    assert rates(sent) == {16000}
    assert abs(len(pcm_of(sent)) - 6400) <= 64  # all 200 ms reached Gemini


# ---------------------------------------------------------------------- replay buffer


@pytest.mark.parametrize("fmt,chunk,rate", [
    ({"type": "audio/pcm", "rate": 24000}, lambda: b64(pcm16(100)), 24000),
    ({"type": "audio/pcmu"}, lambda: b64(g711(PCMU_8K, 100)), 8000),
])
def test_replay_buffer_keeps_the_same_duration_at_any_rate(fmt, chunk, rate):
    d = Driver()
    d.start({"audio": {"input": {"format": fmt}}})
    d.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    for _ in range(50):  # 5 s, nobody speaking: about the last 2 s are kept
        d.client({"type": "input_audio_buffer.append", "audio": chunk()})
    (rc,) = [f for f in d.dropped(1011, "Deadline expired").upstream if isinstance(f, Reconnect)]
    replay = blobs([json.loads(f) for f in rc.replay])
    assert rates(replay) == {rate}
    assert 1800 <= len(pcm_of(replay)) / (rate * 2) * 1000 <= 2100


# ---------------------------------------------------------------------- pieces


def test_upstream_format_per_setting():
    assert upstream_format(PCM16_24K, "native") == PCM16_24K
    assert upstream_format(PCMU_8K, "native") == PCM16_8K
    assert upstream_format(PCMA_8K, 16000) == PCM16_16K
    assert upstream_format(PCM16_24K, 16000) == PCM16_16K
    assert InputAudio(PCM16_16K, 16000).passthrough  # a 16 kHz client is never resampled
    assert InputAudio(PCM16_16K, "native").passthrough
    assert not InputAudio(PCM16_24K, 16000).passthrough


def test_frame_templates_are_cached_per_rate_and_validate():
    assert wire.audio_frame_head(24000) is wire.audio_frame_head(24000)
    for rate in (8000, 16000, 24000, 48000):
        frame = wire.audio_frame(b64(bytes(4)), rate)
        assert frame.startswith(wire.AUDIO_FRAME_PREFIX)
        assert json.loads(frame) == {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": "AAAAAA=="}}}
        validate_client_message(frame)
    for bad in (0, 7999, 48001, "24000"):
        with pytest.raises(ValueError):
            wire.input_audio_mime(bad)  # type: ignore[arg-type]


def test_settings_default_native_and_reach_the_translator():
    s = GeminiSettings.model_validate({"model": "gemini/gemini-live-2.5-flash-preview"})
    assert s.input_audio_rate == "native"
    assert translator_options(s, "models/m").input_audio_rate == "native"
    s = GeminiSettings.model_validate({"model": "gemini/m", "input_audio_rate": 16000})
    assert translator_options(s, "models/m").input_audio_rate == 16000
    assert GeminiSettings.model_validate({"model": "gemini/m", "input_audio_rate": "NATIVE"}).input_audio_rate == "native"
    for bad in ("fast", 4000, 96000, 16000.5):
        with pytest.raises(ValidationError) as info:
            GeminiSettings.model_validate({"model": "gemini/m", "input_audio_rate": bad})
        assert "input_audio_rate must be" in str(info.value)


# ---------------------------------------------------------------------- the fake, as the service


@pytest.mark.parametrize("mime", ["audio/pcm", "audio/pcm;rate=", "audio/pcm;rate=abc", "audio/pcm;rate=0",
                                  "audio/pcm;rate=1000000", "audio/pcm;rate=16000;rate=24000", "audio/wav;rate=16000"])
def test_fake_refuses_audio_without_a_sensible_declared_rate(mime):
    frame = json.dumps({"realtimeInput": {"audio": {"mimeType": mime, "data": "AAAA"}}})
    with pytest.raises(ValueError):
        validate_client_message(frame)
    if mime.startswith("audio/pcm"):  # other audio types are files Gemini may take in content
        content = json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": mime, "data": "AAAA"}}]}], "turnComplete": True}})
        with pytest.raises(ValueError):
            validate_client_message(content)
    assert declared_rate("audio/pcm; rate=24000") == 24000
