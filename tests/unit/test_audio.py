"""Tests for rt_core.audio: formats, streaming resampling and G.711.

Signal checks use a linear sine sweep (200 Hz -> 3 kHz over 1 s, half full
scale), rendered at the source rate, converted chunk by chunk, and compared with
the same sweep rendered directly at the destination rate.  libsoxr's streaming
output is time-aligned (no leading delay once flushed), so a sample-by-sample
comparison checks length, timing, amplitude and frequency at once.

G.711 reference constants were generated once with Python 3.11's ``audioop``
(Sun's classic g711.c), e.g.::

    pcm = struct.pack('<65536h', *range(-32768, 32768))
    hashlib.sha256(audioop.lin2alaw(pcm, 2)).hexdigest()

rt follows the ITU-T G.191 reference code, which agrees with ``audioop``
everywhere except μ-law encoding of some negative samples (see rt_core.audio).
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from rt_core.audio import (
    PCM16_16K,
    PCM16_24K,
    PCMA_8K,
    PCMU_8K,
    AudioConverter,
    AudioFormat,
)

SWEEP_F0 = 200.0
SWEEP_F1 = 3000.0
SWEEP_SECONDS = 1.0
AMPLITUDE = 0.5 * 32767

CONVERSIONS = [
    (PCM16_24K, PCM16_16K),  # OpenAI client -> Gemini / Nova input
    (PCM16_16K, PCM16_24K),
    (PCM16_24K, PCMU_8K),  # Gemini / Nova output -> μ-law client
    (PCMU_8K, PCM16_24K),
    (PCM16_24K, PCMA_8K),
    (PCMA_8K, PCM16_24K),
    (PCMU_8K, PCM16_16K),  # μ-law client -> Gemini input
]
CONVERSION_IDS = [f"{s.encoding}{s.rate}-{d.encoding}{d.rate}" for s, d in CONVERSIONS]


# ----------------------------------------------------------------------------- helpers


def sweep(rate: int) -> np.ndarray:
    """The ideal sweep sampled at ``rate`` (float, int16 scale)."""
    t = np.arange(int(rate * SWEEP_SECONDS)) / rate
    k = (SWEEP_F1 - SWEEP_F0) / (2 * SWEEP_SECONDS)
    return AMPLITUDE * np.sin(2 * np.pi * (SWEEP_F0 * t + k * t * t))


def sweep_frequency(t: np.ndarray) -> np.ndarray:
    return SWEEP_F0 + (SWEEP_F1 - SWEEP_F0) * t / SWEEP_SECONDS


def encode(fmt: AudioFormat, samples: np.ndarray) -> bytes:
    """Samples (int16 scale) as bytes of ``fmt`` (same rate, no resampling)."""
    pcm = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
    if fmt.encoding == "pcm16":
        return pcm
    return AudioConverter(AudioFormat("pcm16", fmt.rate), fmt).convert(pcm)


def decode(fmt: AudioFormat, data: bytes) -> np.ndarray:
    if fmt.encoding != "pcm16":
        data = AudioConverter(fmt, AudioFormat("pcm16", fmt.rate)).convert(data)
    return np.frombuffer(data, "<i2").astype(np.float64)


def fixed_chunks(size: int) -> Callable[[bytes], Iterator[bytes]]:
    def split(data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return split


def odd_chunks(data: bytes) -> Iterator[bytes]:
    """Irregular sizes, many of them odd, including single bytes and empties."""
    rng = np.random.default_rng(1234)
    pos = 0
    while pos < len(data):
        n = int(rng.choice([0, 1, 3, 7, int(rng.integers(1, 2000))]))
        yield data[pos : pos + n]
        pos += n


def run(conv: AudioConverter, data: bytes, split: Callable[[bytes], Iterator[bytes]]) -> bytes:
    return b"".join(conv.convert(chunk) for chunk in split(data)) + conv.flush()


def g711_step(magnitude: np.ndarray) -> np.ndarray:
    """Upper bound of one G.711 quantisation step around ``magnitude`` (int16 scale).

    Both laws have 16 levels per doubling of magnitude, and steps of 8 (μ) or
    16 (A) near zero.
    """
    return np.maximum(16.0, magnitude / 16)


# ----------------------------------------------------------------------------- AudioFormat


class TestAudioFormat:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ({"type": "audio/pcm", "rate": 24000}, PCM16_24K),
            ({"type": "audio/pcm"}, PCM16_24K),
            ({"type": "audio/pcm", "rate": 16000}, PCM16_16K),
            ({"type": "audio/pcmu"}, PCMU_8K),
            ({"type": "audio/pcma"}, PCMA_8K),
            ({"type": "audio/pcmu", "rate": 8000}, PCMU_8K),
            ("pcm16", PCM16_24K),
            ("g711_ulaw", PCMU_8K),
            ("g711_alaw", PCMA_8K),
        ],
    )
    def test_from_openai(self, fmt: object, expected: AudioFormat) -> None:
        assert AudioFormat.from_openai(fmt) == expected

    @pytest.mark.parametrize(
        ("fmt", "message"),
        [
            ("pcm24", "unsupported audio format 'pcm24'"),
            ("audio/pcm", "unsupported audio format 'audio/pcm'"),
            ({"type": "audio/opus"}, "unsupported audio format type 'audio/opus'"),
            ({"rate": 24000}, "unsupported audio format type None"),
            ({"type": "audio/pcm", "rate": 4000}, "unsupported audio/pcm rate 4000"),
            ({"type": "audio/pcm", "rate": "24000"}, "unsupported audio/pcm rate '24000'"),
            ({"type": "audio/pcm", "rate": True}, "unsupported audio/pcm rate True"),
            ({"type": "audio/pcmu", "rate": 16000}, "audio/pcmu is always 8000 Hz"),
            (None, "not NoneType"),
            (24000, "not int"),
        ],
    )
    def test_from_openai_rejects(self, fmt: object, message: str) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            AudioFormat.from_openai(fmt)

    def test_to_openai_round_trips(self) -> None:
        for fmt in (PCM16_24K, PCMU_8K, PCMA_8K, PCM16_16K):
            assert AudioFormat.from_openai(fmt.to_openai()) == fmt
        assert PCM16_24K.to_openai() == {"type": "audio/pcm", "rate": 24000}
        assert PCMU_8K.to_openai() == {"type": "audio/pcmu"}
        with pytest.raises(ValueError):
            AudioFormat("pcmu", 16000).to_openai()

    def test_sizes_and_durations(self) -> None:
        assert PCM16_24K.bytes_per_second == 48000
        assert PCM16_16K.bytes_per_second == 32000
        assert PCMU_8K.bytes_per_second == PCMA_8K.bytes_per_second == 8000
        assert PCM16_24K.duration_ms(960) == 20.0
        assert PCMU_8K.duration_ms(160) == 20.0
        assert PCM16_24K.bytes_for_ms(20) == 960
        assert PCM16_24K.bytes_for_ms(0.05) == 2  # 1.2 samples -> 1 sample
        assert PCMU_8K.bytes_for_ms(1000) == 8000
        with pytest.raises(ValueError):
            PCM16_24K.bytes_for_ms(-1)

    def test_validates_fields(self) -> None:
        with pytest.raises(ValueError, match="unknown audio encoding"):
            AudioFormat("opus", 48000)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="positive integer"):
            AudioFormat("pcm16", 0)
        with pytest.raises(ValueError, match="positive integer"):
            AudioFormat("pcm16", 24000.0)  # type: ignore[arg-type]

    def test_is_frozen_and_hashable(self) -> None:
        with pytest.raises(AttributeError):
            PCM16_24K.rate = 16000  # type: ignore[misc]
        assert {PCM16_24K: 1}[AudioFormat("pcm16", 24000)] == 1


# ----------------------------------------------------------------------------- G.711

# sha256 of audioop results (Python 3.11), see the module docstring.
AUDIOOP_ULAW_DECODE_SHA256 = "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827"
AUDIOOP_ALAW_DECODE_SHA256 = "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174"
AUDIOOP_ALAW_ENCODE_ALL_SHA256 = "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
AUDIOOP_ULAW_ENCODE_NONNEGATIVE_SHA256 = (
    "912062bf9c931c7ebc1dc1fd1d74faf0cfefcd47e8408a3ed4d07aa59f0f1c20"
)

# A handful of explicit values (audioop, except where marked ITU).
ULAW_ENCODE = {
    0: 0xFF, 1: 0xFF, 7: 0xFE, 8: 0xFE, 100: 0xF2, 1000: 0xCE, 4096: 0xAF, 12345: 0x97,
    32124: 0x80, 32767: 0x80, -1000: 0x4E, -4096: 0x2F, -12345: 0x17, -32124: 0x00,
    -32768: 0x00,
    -1: 0x7F, -2: 0x7F, -100: 0x73,  # ITU (one's complement); audioop gives 0x7E, 0x7E, 0x72
}  # fmt: skip
ALAW_ENCODE = {
    0: 0xD5, 1: 0xD5, 8: 0xD5, 100: 0xD3, 1000: 0xFA, 4096: 0x85, 12345: 0xBD, 32124: 0xAA,
    32767: 0xAA, -2: 0x55, -100: 0x53, -1000: 0x7A, -4096: 0x1A, -12345: 0x3D, -32124: 0x2A,
    -32768: 0x2A,
}  # fmt: skip
ULAW_DECODE = {
    0x00: -32124, 0x01: -31100, 0x0F: -16764, 0x10: -15996, 0x2A: -5372, 0x55: -716,
    0x7E: -8, 0x7F: 0, 0x80: 32124, 0xAA: 5372, 0xD5: 716, 0xFE: 8, 0xFF: 0,
}  # fmt: skip
ALAW_DECODE = {
    0x00: -5504, 0x01: -5248, 0x0F: -6784, 0x10: -2752, 0x2A: -32256, 0x55: -8, 0x7E: -880,
    0x7F: -848, 0x80: 5504, 0xAA: 32256, 0xD5: 8, 0xFE: 880, 0xFF: 848,
}  # fmt: skip

PCM16_8K = AudioFormat("pcm16", 8000)
ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int64)


def g711_encode(fmt: AudioFormat, samples: np.ndarray) -> np.ndarray:
    data = AudioConverter(PCM16_8K, fmt).convert(samples.astype("<i2").tobytes())
    return np.frombuffer(data, np.uint8)


def g711_decode(fmt: AudioFormat, codes: bytes) -> np.ndarray:
    return np.frombuffer(AudioConverter(fmt, PCM16_8K).convert(codes), "<i2").astype(np.int64)


class TestG711:
    def test_decode_tables_match_reference(self) -> None:
        codes = bytes(range(256))
        for fmt, digest in ((PCMU_8K, AUDIOOP_ULAW_DECODE_SHA256), (PCMA_8K, AUDIOOP_ALAW_DECODE_SHA256)):
            pcm = AudioConverter(fmt, PCM16_8K).convert(codes)
            assert hashlib.sha256(pcm).hexdigest() == digest
        for code, value in ULAW_DECODE.items():
            assert g711_decode(PCMU_8K, bytes([code]))[0] == value
        for code, value in ALAW_DECODE.items():
            assert g711_decode(PCMA_8K, bytes([code]))[0] == value

    def test_alaw_encoding_matches_reference_for_every_sample(self) -> None:
        codes = g711_encode(PCMA_8K, ALL_SAMPLES)
        assert hashlib.sha256(codes.tobytes()).hexdigest() == AUDIOOP_ALAW_ENCODE_ALL_SHA256
        for sample, code in ALAW_ENCODE.items():
            assert g711_encode(PCMA_8K, np.array([sample]))[0] == code, sample

    def test_ulaw_encoding_matches_reference_and_is_symmetric(self) -> None:
        codes = g711_encode(PCMU_8K, ALL_SAMPLES)
        nonnegative = codes[32768:]
        assert (
            hashlib.sha256(nonnegative.tobytes()).hexdigest()
            == AUDIOOP_ULAW_ENCODE_NONNEGATIVE_SHA256
        )
        # ITU G.191: a negative x is coded as the mirror of its one's complement ~x = -x-1.
        negative = ALL_SAMPLES[:32768]
        assert np.array_equal(codes[:32768], codes[32768 + ~negative] ^ 0x80)
        for sample, code in ULAW_ENCODE.items():
            assert g711_encode(PCMU_8K, np.array([sample]))[0] == code, sample

    @pytest.mark.parametrize("fmt", [PCMU_8K, PCMA_8K], ids=["pcmu", "pcma"])
    def test_round_trip_error_within_quantisation_bound(self, fmt: AudioFormat) -> None:
        decoded = g711_decode(fmt, g711_encode(fmt, ALL_SAMPLES).tobytes())
        clip = 32124 if fmt.encoding == "pcmu" else 32256
        inside = np.abs(ALL_SAMPLES) <= clip
        error = np.abs(decoded - ALL_SAMPLES)
        # Half a quantisation step (16 steps per doubling, reconstruction at the
        # middle of each interval): μ-law is logarithmic in |x| + 132 (its bias),
        # A-law is linear with step 16 below 256 and logarithmic in |x| above.
        magnitude = np.abs(ALL_SAMPLES)
        if fmt.encoding == "pcmu":
            bound = (magnitude + 132) / 32
        else:
            bound = np.maximum(8, magnitude / 32)
        assert np.all(error[inside] <= bound[inside])
        # Beyond the largest level the codec clips to it.
        assert np.all(np.abs(decoded[~inside]) == clip)
        # Every code decodes to a level that encodes back to the same code.
        levels = g711_decode(fmt, bytes(range(256)))
        recoded = g711_encode(fmt, levels)
        zero_codes = {0x7F, 0xFF} if fmt.encoding == "pcmu" else set()
        for code, back in enumerate(recoded):
            if code not in zero_codes:  # μ-law has +0 and -0; both decode to 0
                assert back == code

    @pytest.mark.parametrize(("src", "dst"), [(PCMU_8K, PCMA_8K), (PCMA_8K, PCMU_8K)])
    def test_g711_transcoding_equals_decode_then_encode(
        self, src: AudioFormat, dst: AudioFormat
    ) -> None:
        codes = bytes(range(256)) * 3
        direct = AudioConverter(src, dst).convert(codes)
        via_pcm = g711_encode(dst, g711_decode(src, codes)).tobytes()
        assert direct == via_pcm
        assert len(direct) == len(codes)


# ----------------------------------------------------------------------------- streaming conversion


@pytest.fixture(scope="module")
def one_shot_outputs() -> dict[tuple[AudioFormat, AudioFormat], bytes]:
    outputs = {}
    for src, dst in CONVERSIONS:
        conv = AudioConverter(src, dst)
        outputs[(src, dst)] = conv.convert(encode(src, sweep(src.rate))) + conv.flush()
    return outputs


CHUNKINGS = {
    "20ms": lambda fmt: fixed_chunks(fmt.bytes_per_second // 50),
    "odd": lambda fmt: odd_chunks,
    "1000-bytes": lambda fmt: fixed_chunks(1001),
}


@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize(("src", "dst"), CONVERSIONS, ids=CONVERSION_IDS)
class TestStreamingConversion:
    def output(self, src: AudioFormat, dst: AudioFormat, chunking: str) -> tuple[AudioConverter, bytes]:
        conv = AudioConverter(src, dst)
        data = encode(src, sweep(src.rate))
        return conv, run(conv, data, CHUNKINGS[chunking](src))

    def test_chunked_output_equals_one_shot_output(
        self,
        src: AudioFormat,
        dst: AudioFormat,
        chunking: str,
        one_shot_outputs: dict[tuple[AudioFormat, AudioFormat], bytes],
    ) -> None:
        _, chunked = self.output(src, dst, chunking)
        one_shot = one_shot_outputs[(src, dst)]
        assert len(chunked) == len(one_shot)
        a, b = decode(dst, chunked), decode(dst, one_shot)
        if dst.encoding == "pcm16":
            assert np.max(np.abs(a - b)) <= 1
        else:  # a 1-LSB difference before encoding may move to the adjacent G.711 level
            assert np.all(np.abs(a - b) <= g711_step(np.abs(b)))

    def test_length_duration_and_signal(self, src: AudioFormat, dst: AudioFormat, chunking: str) -> None:
        conv, out = self.output(src, dst, chunking)
        expected_samples = int(dst.rate * SWEEP_SECONDS)
        y = decode(dst, out)
        assert abs(len(y) - expected_samples) <= 2
        assert conv.ms_in == pytest.approx(1000.0)
        assert conv.ms_out == pytest.approx(1000.0, abs=0.5)

        # Sample-by-sample comparison with the ideal sweep at the destination rate,
        # ignoring 20 ms at each end (filter start-up and the abrupt end of the sweep).
        ideal = sweep(dst.rate)[: len(y)]
        margin = dst.rate // 50
        err = y[margin:-margin] - ideal[margin:-margin]
        snr_db = 10 * np.log10(np.mean(ideal[margin:-margin] ** 2) / np.mean(err**2))
        through_g711 = {src.encoding, dst.encoding} != {"pcm16"}
        # pcm16 <-> pcm16 measures about 90 dB; through G.711 the codec's own ~37 dB.
        assert snr_db > (33 if through_g711 else 60)

    def test_frequency_follows_the_sweep(self, src: AudioFormat, dst: AudioFormat, chunking: str) -> None:
        _, out = self.output(src, dst, chunking)
        y = decode(dst, out)
        window = dst.rate // 20  # 50 ms
        for start in range(window, len(y) - 2 * window, window):
            seg = y[start : start + window]
            signs = np.signbit(seg)
            crossings = np.nonzero(signs[1:] != signs[:-1])[0]
            # Frequency from the span between the first and last zero crossing.
            measured = (len(crossings) - 1) / 2 / ((crossings[-1] - crossings[0]) / dst.rate)
            expected = sweep_frequency(np.array([(start + window / 2) / dst.rate]))[0]
            assert measured == pytest.approx(expected, rel=0.03), start

    def test_no_discontinuities(self, src: AudioFormat, dst: AudioFormat, chunking: str) -> None:
        _, out = self.output(src, dst, chunking)
        y = decode(dst, out)
        jumps = np.abs(np.diff(y))
        t = np.arange(len(jumps)) / dst.rate
        # A sine of amplitude A and frequency f moves at most 2·A·sin(π·f/rate)
        # between samples; allow 5% filter ripple plus the codecs' quantisation.
        allowed = 1.05 * 2 * AMPLITUDE * np.sin(np.pi * sweep_frequency(t) / dst.rate)
        codecs = {src.encoding, dst.encoding} - {"pcm16"}
        slack = 2 * (AMPLITUDE + 132) / 32 if codecs else 4
        # The first and last 5 ms hold the filter's response to the sweep's
        # abrupt start and end (the same in one-shot conversion), not chunk edges.
        edge = dst.rate // 200
        assert np.all((jumps <= allowed + slack)[edge:-edge])


class TestConverterBehaviour:
    def test_identity_returns_its_input(self) -> None:
        conv = AudioConverter(PCM16_24K, PCM16_24K)
        assert conv.identity
        chunk = b"\x01\x02\x03"  # odd length passes through untouched
        assert conv.convert(chunk) is chunk
        view = memoryview(bytearray(b"abcd"))
        assert conv.convert(view) is view  # type: ignore[arg-type]
        assert conv.flush() == b""
        assert conv.ms_in == conv.ms_out == PCM16_24K.duration_ms(7)

    def test_identity_base64_passes_through(self) -> None:
        conv = AudioConverter(PCMU_8K, PCMU_8K)
        b64 = base64.b64encode(bytes(range(250))).decode()
        assert conv.convert_b64(b64) is b64
        urlsafe = base64.urlsafe_b64encode(bytes(range(250))).decode().rstrip("=")
        assert "-" in urlsafe or "_" in urlsafe
        assert conv.convert_b64(urlsafe) == b64
        assert conv.ms_in == conv.ms_out == PCMU_8K.duration_ms(500)

    @pytest.mark.parametrize("bad", ['AAAA","x":"y', "AA\\AA", "AA\nAA", "AA\x00A", "AA\ud800A"])
    def test_identity_base64_refuses_what_cannot_be_spliced_into_json(self, bad: str) -> None:
        """The identity conversion forwards text undecoded into JSON templates."""
        conv = AudioConverter(PCM16_24K, PCM16_24K)
        with pytest.raises(ValueError, match="not valid base64"):
            conv.convert_b64(bad)
        assert conv.ms_in == 0
        # A caller that read it from a JSON string without escapes vouches for it.
        assert conv.convert_b64("AAAA", json_safe=True) == "AAAA"

    @pytest.mark.parametrize("raw", [bytes(range(250)), bytes(range(251)), bytes(range(252)), b"\xfb\xff" * 480])
    def test_pass_b64_counts_what_convert_b64_counts(self, raw: bytes) -> None:
        """pass_b64 is convert_b64's identity path for safe standard padded text, in one call."""
        b64 = base64.b64encode(raw).decode()
        quick, general = AudioConverter(PCM16_24K, PCM16_24K), AudioConverter(PCM16_24K, PCM16_24K)
        for _ in range(3):
            before = general.ms_out
            assert general.convert_b64(b64, json_safe=True) is b64
            assert quick.pass_b64(b64) == general.ms_out - before
        assert (quick.ms_in, quick.ms_out) == (general.ms_in, general.ms_out) == (PCM16_24K.duration_ms(3 * len(raw)),) * 2

    @pytest.mark.parametrize("text", ["AAA", "AA-A", "AA_A", base64.b64encode(b"ab").decode().rstrip("=")])
    def test_pass_b64_declines_what_convert_b64_must_rewrite(self, text: str) -> None:
        conv = AudioConverter(PCM16_24K, PCM16_24K)
        assert conv.pass_b64(text) is None
        assert conv.ms_in == conv.ms_out == 0

    def test_pass_b64_declines_a_real_conversion(self) -> None:
        conv = AudioConverter(PCM16_24K, PCM16_16K)
        assert conv.pass_b64("AAAA") is None
        assert conv.ms_in == 0

    def test_identity_base64_leaves_other_invalid_text_to_the_receiver(self) -> None:
        conv = AudioConverter(PCM16_24K, PCM16_24K)
        assert conv.convert_b64("not base64 !") == "not base64 !"
        assert conv.convert_b64("AAé=") == "AAé="

    def test_base64_matches_bytes_api(self) -> None:
        raw = encode(PCM16_24K, sweep(24000))[:4801]  # odd length: a half sample pending
        expected_conv = AudioConverter(PCM16_24K, PCM16_16K)
        expected = expected_conv.convert(raw)
        for text in (
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
        ):
            conv = AudioConverter(PCM16_24K, PCM16_16K)
            out = conv.convert_b64(text)
            assert base64.b64decode(out, validate=True) == expected
            assert conv.ms_in == expected_conv.ms_in

    @pytest.mark.parametrize("bad", ["not base64!", "AAAA$AAA", "A", "AA AA"])
    def test_invalid_base64_raises_value_error(self, bad: str) -> None:
        conv = AudioConverter(PCM16_24K, PCMU_8K)
        with pytest.raises(ValueError, match="not valid base64"):
            conv.convert_b64(bad)

    def test_odd_bytes_are_carried_over(self) -> None:
        pcm = encode(PCM16_24K, sweep(24000))[:9600]
        whole = AudioConverter(PCM16_24K, PCMU_8K)
        expected = whole.convert(pcm) + whole.flush()
        conv = AudioConverter(PCM16_24K, PCMU_8K)
        assert conv.convert(pcm[:1]) == b""
        assert conv.ms_in == PCM16_24K.duration_ms(1)
        out = b"".join(conv.convert(pcm[i : i + 1]) for i in range(1, len(pcm))) + conv.flush()
        assert out == expected

    def test_pcm16_to_g711_without_resampling_keeps_alignment(self) -> None:
        pcm = encode(PCM16_8K, sweep(8000))
        conv = AudioConverter(PCM16_8K, PCMA_8K)
        out = b"".join(conv.convert(c) for c in odd_chunks(pcm)) + conv.flush()
        assert out == AudioConverter(PCM16_8K, PCMA_8K).convert(pcm)
        assert len(out) == 8000

    def test_flush_drains_tail_and_next_sequence_starts_fresh(self) -> None:
        data = encode(PCM16_24K, sweep(24000))
        conv = AudioConverter(PCM16_24K, PCM16_16K)
        body = b"".join(conv.convert(c) for c in fixed_chunks(960)(data))
        assert len(body) < 32000  # some audio is still inside the resampler
        first = body + conv.flush()
        assert len(first) == 32000
        assert conv.flush() == b""  # nothing left
        second = b"".join(conv.convert(c) for c in fixed_chunks(960)(data)) + conv.flush()
        assert second == first
        assert conv.ms_in == pytest.approx(2000.0)
        assert conv.ms_out == pytest.approx(2000.0)

    def test_flush_keeps_a_pending_half_sample(self) -> None:
        pcm = encode(PCM16_24K, sweep(24000))[:4800]
        fresh = AudioConverter(PCM16_24K, PCM16_16K)
        expected = fresh.convert(pcm[2:]) + fresh.flush()
        conv = AudioConverter(PCM16_24K, PCM16_16K)
        conv.convert(pcm[:3])
        conv.flush()  # the third byte belongs to the next sample
        out = conv.convert(pcm[3:]) + conv.flush()
        assert out == expected

    def test_reset_forgets_history_pending_byte_and_counters(self) -> None:
        pcm = encode(PCM16_24K, sweep(24000))
        conv = AudioConverter(PCM16_24K, PCMU_8K)
        conv.convert(pcm[:12345])
        conv.reset()
        assert conv.ms_in == conv.ms_out == 0
        fresh = AudioConverter(PCM16_24K, PCMU_8K)
        assert conv.convert(pcm) + conv.flush() == fresh.convert(pcm) + fresh.flush()

    def test_deterministic_and_silence_stays_silent(self) -> None:
        # libsoxr dithers int16 output; rt must not (recorded sessions replay exactly).
        silence = bytes(9600)
        conv = AudioConverter(PCM16_24K, PCM16_16K)
        assert conv.convert(silence) + conv.flush() == bytes(6400)
        noise = np.random.default_rng(7).normal(0, 3000, 24000)
        data = encode(PCM16_24K, noise)
        a, b = AudioConverter(PCM16_24K, PCMU_8K), AudioConverter(PCM16_24K, PCMU_8K)
        assert a.convert(data) + a.flush() == b.convert(data) + b.flush()

    def test_overshoot_is_clipped_not_wrapped(self) -> None:
        # A full-scale square wave rings above full scale after filtering.
        square = np.where(np.sin(2 * np.pi * 440 * np.arange(24000) / 24000) >= 0, 32767, -32768)
        conv = AudioConverter(PCM16_24K, PCM16_16K)
        y = decode(PCM16_16K, conv.convert(square.astype("<i2").tobytes()) + conv.flush())
        reference = np.where(np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) >= 0, 1, -1)
        middle = slice(800, 15200)
        # Away from the edges of each half period the sign must match the input.
        settled = np.abs(np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)) > 0.5
        assert np.all(np.sign(y[middle][settled[middle]]) == reference[middle][settled[middle]])
        assert y.max() == 32767 and y.min() == -32768

    @pytest.mark.parametrize(("src", "dst"), [(PCM16_24K, PCM16_16K), (PCM16_16K, PCM16_24K)])
    def test_constant_level_is_preserved_exactly(self, src: AudioFormat, dst: AudioFormat) -> None:
        # Resampler output is rounded to the nearest integer, not truncated.
        for level in (1000, -1000, 12345, -32768, 32767):
            conv = AudioConverter(src, dst)
            y = decode(dst, conv.convert(np.full(src.rate // 2, level, "<i2").tobytes()))
            settled = y[dst.rate // 20 : -dst.rate // 20]
            assert len(settled) > 0 and np.all(settled == level), level

    def test_bad_quality_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            AudioConverter(PCM16_24K, PCM16_16K, quality="best")

    def test_other_qualities_work(self) -> None:
        data = encode(PCM16_24K, sweep(24000))
        for quality in ("LQ", "HQ"):
            conv = AudioConverter(PCM16_24K, PCM16_16K, quality=quality)
            assert len(conv.convert(data) + conv.flush()) == 32000


def test_numpy_and_soxr_are_imported_lazily() -> None:
    code = (
        "import sys, rt_core\n"
        "assert 'rt_core.audio' not in sys.modules, 'rt_core imports rt_core.audio'\n"
        "from rt_core import audio\n"
        "heavy = {'numpy', 'soxr'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "audio.AudioFormat.from_openai('pcm16')\n"
        "assert 'numpy' not in sys.modules\n"
        "audio.AudioConverter(audio.PCM16_24K, audio.PCM16_16K)\n"
        "assert {'numpy', 'soxr'} <= set(sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
