"""Audio for the mock model: formats, G.711, a speech-like synthesiser, a level meter.

Everything here is plain Python (no numpy) so ``rt-mock`` depends on nothing
but ``rt-core``, and everything is deterministic: the same words always give
the same bytes.

The synthesiser does not speak.  Each word becomes a short voiced "syllable"
-- a periodic wave whose pitch is derived from the word's letters and whose
length grows with the word's length -- followed by a short pause.  That is
enough for what clients test: audio arrives in the right format, at a
plausible duration, aligned word by word with the transcript, and silences and
energy look like speech to a voice-activity detector.
"""

from __future__ import annotations

import math
import sys
from array import array
from functools import lru_cache

__all__ = [
    "PCM",
    "PCMU",
    "PCMA",
    "FORMATS",
    "bytes_per_ms",
    "duration_ms",
    "to_pcm16",
    "rms_level",
    "synth_word",
    "silence",
    "ulaw_encode",
    "ulaw_decode",
    "alaw_encode",
    "alaw_decode",
]

PCM = "audio/pcm"  # 16-bit signed little-endian mono, 24 kHz
PCMU = "audio/pcmu"  # G.711 mu-law, 8 kHz
PCMA = "audio/pcma"  # G.711 A-law, 8 kHz
FORMATS = (PCM, PCMU, PCMA)

_LITTLE = sys.byteorder == "little"


def bytes_per_ms(fmt: str) -> int:
    """24 kHz x 2 bytes for PCM; 8 kHz x 1 byte for G.711."""
    return 48 if fmt == PCM else 8


def duration_ms(nbytes: int, fmt: str) -> float:
    return nbytes / bytes_per_ms(fmt)


# --------------------------------------------------------------------------- G.711
# The ITU-T G.711 companding laws, written from the classic reference
# algorithms (Sun's g711.c) for 16-bit linear samples.

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def ulaw_encode(sample: int) -> int:
    """One 16-bit linear sample → one mu-law byte."""
    sign = 0x80 if sample < 0 else 0
    if sign:
        sample = -sample
    sample = min(sample, _ULAW_CLIP) + _ULAW_BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not sample & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_decode(byte: int) -> int:
    """One mu-law byte → one 16-bit linear sample."""
    u = ~byte & 0xFF
    exponent = (u >> 4) & 0x07
    sample = ((((u & 0x0F) << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return -sample if u & 0x80 else sample


def alaw_encode(sample: int) -> int:
    """One 16-bit linear sample → one A-law byte."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    seg = 0
    while seg < 8 and value > _ALAW_SEG_END[seg]:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (value >> 1 if seg < 2 else value >> seg) & 0x0F
    return aval ^ mask


def alaw_decode(byte: int) -> int:
    """One A-law byte → one 16-bit linear sample."""
    a = byte ^ 0x55
    seg = (a >> 4) & 0x07
    t = (a & 0x0F) << 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


_ULAW_TABLE = tuple(ulaw_decode(b) for b in range(256))
_ALAW_TABLE = tuple(alaw_decode(b) for b in range(256))


def _samples_to_bytes(samples: array[int]) -> bytes:
    if not _LITTLE:
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _bytes_to_samples(data: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(data[: len(data) - (len(data) % 2)])
    if not _LITTLE:
        samples.byteswap()
    return samples


def to_pcm16(data: bytes, fmt: str) -> array[int]:
    """Decode audio in ``fmt`` to 16-bit linear samples (at its own rate)."""
    if fmt == PCM:
        return _bytes_to_samples(data)
    table = _ULAW_TABLE if fmt == PCMU else _ALAW_TABLE
    return array("h", [table[b] for b in data])


def rms_level(samples: array[int]) -> float:
    """Root-mean-square level of 16-bit samples, 0.0 (silence) to ~1.0 (full scale)."""
    if not samples:
        return 0.0
    return math.sqrt(math.sumprod(samples, samples) / len(samples)) / 32768.0


# --------------------------------------------------------------------------- synthesis

#: Pitch periods at 24 kHz, all divisible by 3 so the same pitch has a whole
#: number of samples per period at 8 kHz too (≈ 114–200 Hz: a speaking voice).
_PERIODS_24K = (120, 135, 150, 165, 180, 195, 210)
#: A word lasts WORD_BASE_MS + WORD_MS_PER_CHAR per letter, then a pause.
WORD_BASE_MS = 60
WORD_MS_PER_CHAR = 60
PAUSE_MS = 60
_AMPLITUDE = 0.3 * 32767  # about -13 dBFS RMS: clearly speech to any VAD
_FADE_MS = 5


def _rate(fmt: str) -> int:
    return 24000 if fmt == PCM else 8000


def word_duration_ms(word: str) -> int:
    """Voiced part plus the pause after it, in milliseconds."""
    return WORD_BASE_MS + WORD_MS_PER_CHAR * len(word) + PAUSE_MS


def silence(ms: float, fmt: str) -> bytes:
    n = int(ms * _rate(fmt) / 1000)
    if fmt == PCM:
        return bytes(2 * n)
    return bytes([0xFF if fmt == PCMU else 0xD5]) * n


@lru_cache(maxsize=512)
def _voiced(period_24k: int, voiced_ms: int, fmt: str) -> bytes:
    rate = _rate(fmt)
    period = period_24k if rate == 24000 else period_24k // 3
    # One period of a fundamental plus a softer octave: buzzier than a sine.
    cycle = [
        int(_AMPLITUDE * (math.sin(2 * math.pi * k / period) + 0.5 * math.sin(4 * math.pi * k / period)) / 1.5)
        for k in range(period)
    ]
    n = voiced_ms * rate // 1000
    reps, rest = divmod(n, period)
    samples = array("h", cycle * reps + cycle[:rest])
    fade = min(n // 2, _FADE_MS * rate // 1000)
    for i in range(fade):  # short ramps so words do not click
        g = i / fade
        samples[i] = int(samples[i] * g)
        samples[n - 1 - i] = int(samples[n - 1 - i] * g)
    if fmt == PCM:
        return _samples_to_bytes(samples)
    encode = ulaw_encode if fmt == PCMU else alaw_encode
    return bytes(encode(s) for s in samples)


def synth_word(word: str, fmt: str) -> bytes:
    """The audio for one word in ``fmt``: a voiced syllable, then a pause."""
    letters = word.strip()
    period = _PERIODS_24K[sum(map(ord, letters)) % len(_PERIODS_24K)]
    voiced_ms = WORD_BASE_MS + WORD_MS_PER_CHAR * len(letters)
    return _voiced(period, voiced_ms, fmt) + silence(PAUSE_MS, fmt)
