"""Audio formats and streaming conversion for translating providers.

OpenAI Realtime clients send and expect pcm16 (16-bit signed little-endian mono)
at 24 kHz, or G.711 μ-law / A-law at 8 kHz.  Gemini Live wants 16 kHz pcm16 in
and sends 24 kHz out; Nova Sonic the same.  A translator therefore keeps one
:class:`AudioConverter` per direction and feeds it every chunk as it arrives::

    to_upstream = AudioConverter(AudioFormat.from_openai(fmt), PCM16_16K)
    b64_for_gemini = to_upstream.convert_b64(event.data["audio"])
    ...
    tail = to_upstream.flush()          # end of the user's turn

Design notes (why it looks like this):

* **Streaming and stateful.**  Chunks are typically 20 ms but may have any size;
  a pcm16 chunk with an odd byte count leaves its last byte pending until the
  next chunk completes the sample, so the byte stream never loses alignment.
  Resampling uses libsoxr through ``soxr.ResampleStream``, which keeps the filter
  history across chunks: the output of chunked input is identical to the output
  of the same audio converted in one call, so there are no clicks at chunk edges.
* **float32, not int16, inside soxr.**  With int16 output libsoxr adds TPDF
  dither: the output is random (two runs of the same input differ, and digital
  silence becomes ±1 noise).  Translators must be deterministic so recorded
  sessions replay exactly, so samples go through soxr as float32 (in int16
  scale; float processing does not clip) and are rounded and clipped here.  That
  costs about 2.5 µs per 20 ms chunk on top of soxr's own 3.7 µs.
* **Quality "MQ" by default.**  Measured with libsoxr 0.1.3: "MQ" (16-bit
  precision) is flat to 0.9 of the output Nyquist frequency (3.6 kHz at 8 kHz)
  with more than 100 dB of alias rejection, which already exceeds what 16-bit
  PCM and 8-bit G.711 can carry; "HQ" costs the same CPU and latency but its
  extra precision is inaudible here; "LQ" halves the latency (about 11 ms
  instead of 21 ms average for 24↔16 kHz, 22 instead of 43 ms for 24↔8 kHz)
  but is already 7.8 dB down at 3.4 kHz, inside the telephone band.  The
  latency comes from libsoxr's block processing: output arrives in bursts and
  the last few tens of milliseconds of a turn stay inside the resampler until
  :meth:`AudioConverter.flush` drains them.
* **G.711 by lookup tables built once**, following the ITU-T G.191 reference
  implementation of G.711 (``audioop`` is gone in Python 3.13).  Decoding and
  A-law encoding are identical to the classic Sun/``audioop`` code; μ-law
  encoding differs from ``audioop`` only for some negative inputs, where the
  ITU reference rounds symmetrically (one's complement) and ``audioop`` does not.
* **Lazy numpy/soxr.**  ``import rt_core`` does not import this module, and this
  module imports numpy and soxr only when a converter or codec table is first
  needed, so a gateway that never translates audio does not pay for them.
"""

from __future__ import annotations

import base64
import binascii
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, get_args

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_QUALITY",
    "PCM16_16K",
    "PCM16_24K",
    "PCMA_8K",
    "PCMU_8K",
    "AudioConverter",
    "AudioFormat",
    "Encoding",
]

Encoding = Literal["pcm16", "pcmu", "pcma"]
_ENCODINGS: Final = frozenset(get_args(Encoding))

#: libsoxr quality recipe used when none is given (see the module docstring).
DEFAULT_QUALITY: Final = "MQ"

# PCM rates accepted from a client's session config.  OpenAI itself accepts only
# 24000; rt converts anyway, so any ordinary speech rate is allowed.
_MIN_CLIENT_RATE: Final = 8000
_MAX_CLIENT_RATE: Final = 48000

_BETA_FORMATS: Final[Mapping[str, tuple[Encoding, int]]] = {
    "pcm16": ("pcm16", 24000),
    "g711_ulaw": ("pcmu", 8000),
    "g711_alaw": ("pcma", 8000),
}
_GA_TYPES: Final[Mapping[str, Encoding]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "pcmu",
    "audio/pcma": "pcma",
}
_GA_TYPE_OF: Final[Mapping[Encoding, str]] = {enc: typ for typ, enc in _GA_TYPES.items()}


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """A mono audio stream format: sample encoding and sample rate in Hz.

    ``pcm16`` is 16-bit signed little-endian PCM (2 bytes per sample); ``pcmu``
    and ``pcma`` are G.711 μ-law and A-law (1 byte per sample).
    """

    encoding: Encoding
    rate: int

    def __post_init__(self) -> None:
        if self.encoding not in _ENCODINGS:
            raise ValueError(
                f"unknown audio encoding {self.encoding!r}; expected one of "
                f"{', '.join(sorted(_ENCODINGS))}"
            )
        if type(self.rate) is not int or self.rate <= 0:
            raise ValueError(f"audio sample rate must be a positive integer, not {self.rate!r}")

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm16" else 1

    @property
    def bytes_per_second(self) -> int:
        return self.bytes_per_sample * self.rate

    def duration_ms(self, nbytes: int) -> float:
        """Duration in milliseconds of ``nbytes`` bytes of this format."""
        return nbytes * 1000 / self.bytes_per_second

    def bytes_for_ms(self, ms: float) -> int:
        """Byte count of ``ms`` milliseconds, rounded down to whole samples.

        Useful to cut played audio at a client's ``audio_end_ms``.
        """
        if ms < 0:
            raise ValueError(f"duration must not be negative, got {ms!r} ms")
        return int(ms * self.rate // 1000) * self.bytes_per_sample

    @classmethod
    def from_openai(cls, fmt: object) -> AudioFormat:
        """Parse an OpenAI Realtime audio format.

        Accepts the GA object (``{"type": "audio/pcm", "rate": 24000}``,
        ``{"type": "audio/pcmu"}``, ``{"type": "audio/pcma"}``) or the beta
        string (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``).  A missing PCM
        rate means 24000 as in OpenAI's schema; other PCM rates from 8000 to
        48000 Hz are accepted too, since rt resamples anyway.  G.711 is 8 kHz.

        :raises ValueError: with a message fit for a client ``error`` event.
        """
        if isinstance(fmt, str):
            try:
                encoding, rate = _BETA_FORMATS[fmt]
            except KeyError:
                raise ValueError(
                    f"unsupported audio format {fmt!r}; expected one of "
                    f"{', '.join(repr(k) for k in _BETA_FORMATS)}"
                ) from None
            return cls(encoding, rate)
        if not isinstance(fmt, Mapping):
            raise ValueError(
                f"audio format must be an object like {{'type': 'audio/pcm', 'rate': 24000}}"
                f" or a string, not {type(fmt).__name__}"
            )
        type_ = fmt.get("type")
        if not isinstance(type_, str) or type_ not in _GA_TYPES:
            raise ValueError(
                f"unsupported audio format type {type_!r}; expected one of "
                f"{', '.join(repr(k) for k in _GA_TYPES)}"
            )
        encoding = _GA_TYPES[type_]
        given_rate = fmt.get("rate")
        if encoding == "pcm16":
            if given_rate is None:
                return PCM16_24K
            if (
                type(given_rate) is not int
                or not _MIN_CLIENT_RATE <= given_rate <= _MAX_CLIENT_RATE
            ):
                raise ValueError(
                    f"unsupported audio/pcm rate {given_rate!r}; expected an integer from "
                    f"{_MIN_CLIENT_RATE} to {_MAX_CLIENT_RATE} (OpenAI uses 24000)"
                )
            return cls("pcm16", given_rate)
        if given_rate is not None and given_rate != 8000:
            raise ValueError(f"{type_} is always 8000 Hz; got rate {given_rate!r}")
        return cls(encoding, 8000)

    def to_openai(self) -> dict[str, Any]:
        """The GA format object for this format (G.711 must be 8 kHz)."""
        if self.encoding == "pcm16":
            return {"type": "audio/pcm", "rate": self.rate}
        if self.rate != 8000:
            raise ValueError(f"OpenAI has no {self.encoding} format at {self.rate} Hz")
        return {"type": _GA_TYPE_OF[self.encoding]}


PCM16_24K: Final = AudioFormat("pcm16", 24000)
PCM16_16K: Final = AudioFormat("pcm16", 16000)
PCMU_8K: Final = AudioFormat("pcmu", 8000)
PCMA_8K: Final = AudioFormat("pcma", 8000)


# --------------------------------------------------------------------------- G.711


class _G711Tables(NamedTuple):
    """Lookup tables; encoders are indexed by the int16 sample viewed as uint16."""

    encode: Mapping[str, npt.NDArray[np.uint8]]  # 65536 entries
    decode: Mapping[str, npt.NDArray[np.int16]]  # 256 entries
    decode_f32: Mapping[str, npt.NDArray[np.float32]]  # same values as float32
    transcode: Mapping[tuple[str, str], bytes]  # bytes.translate tables pcmu<->pcma


def _import_soxr() -> Any:
    """python-soxr, imported on first use (it ships no type information)."""
    try:
        return importlib.import_module("soxr")
    except ImportError as exc:
        raise ImportError(
            f"audio resampling needs numpy and soxr: install rt-core[audio] ({exc})"
        ) from exc


@cache
def _g711_tables() -> _G711Tables:
    """Build every G.711 table once (vectorised ITU-T G.191 reference algorithms)."""
    try:
        import numpy as np
    except ImportError as exc:
        raise ImportError(f"G.711 conversion needs numpy: install rt-core[audio] ({exc})") from exc

    # All 65536 int16 values, in the order of their uint16 bit patterns.
    x = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)
    positive = x >= 0

    # μ-law (G.191 ulaw_compress): 14-bit magnitude, one's complement for negatives,
    # biased by 33 and limited to 13 bits; segment = 1 + bit length of (absno >> 6).
    absno = np.minimum(np.where(positive, x >> 2, (~x) >> 2) + 33, 0x1FFF)
    segno = 1 + _bit_length(absno >> 6)
    ulaw = ((8 - segno) << 4) | (15 - ((absno >> segno) & 0xF))
    ulaw |= np.where(positive, 0x80, 0)

    # A-law (G.191 alaw_compress): 12-bit magnitude, one's complement for negatives;
    # magnitudes above 15 are normalised to 5 bits (16..31) with an exponent.
    ix = np.where(positive, x >> 4, (~x) >> 4)
    exponent = np.maximum(_bit_length(ix) - 4, 0)  # 0 for ix <= 15, else shifts + 1
    mantissa = np.where(exponent > 0, (ix >> np.maximum(exponent - 1, 0)) - 16, ix)
    alaw = ((exponent << 4) + mantissa) | np.where(positive, 0x80, 0)
    alaw ^= 0x55

    # Decoders (G.191 ulaw_expand / alaw_expand): the middle of each interval.
    code = np.arange(256, dtype=np.int32)
    inv = ~code
    exp_u = (inv >> 4) & 0x7
    step = 4 << (exp_u + 1)
    mag_u = (0x80 << exp_u) + step * (inv & 0xF) + step // 2 - 4 * 33
    ulaw_dec = np.where(code < 0x80, -mag_u, mag_u)

    a = (code ^ 0x55) & 0x7F
    exp_a = a >> 4
    mant_a = (a & 0xF) + np.where(exp_a > 0, 16, 0)
    mag_a = ((mant_a << 4) + 8) << np.maximum(exp_a - 1, 0)
    alaw_dec = np.where(code > 0x7F, mag_a, -mag_a)

    encode = {"pcmu": ulaw.astype(np.uint8), "pcma": alaw.astype(np.uint8)}
    decode = {"pcmu": ulaw_dec.astype(np.int16), "pcma": alaw_dec.astype(np.int16)}
    for table in (*encode.values(), *decode.values()):
        table.flags.writeable = False
    decode_f32 = {k: v.astype(np.float32) for k, v in decode.items()}
    transcode = {
        (src, dst): encode[dst][decode[src].view(np.uint16)].tobytes()
        for src, dst in (("pcmu", "pcma"), ("pcma", "pcmu"))
    }
    return _G711Tables(encode, decode, decode_f32, transcode)


def _bit_length(v: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Element-wise ``int.bit_length`` for non-negative values below 2**16."""
    import numpy as np

    out = np.zeros_like(v)
    for shift in range(16):
        out += (v >> shift) > 0
    return out


# --------------------------------------------------------------------------- base64

_URLSAFE_TO_STANDARD: Final = str.maketrans("-_", "+/")
#: A quote, a backslash or a control character → NUL; any other byte of UTF-8 → ``A``.
_JSON_SAFE_TO_A: Final = bytes(0 if b < 0x20 or b in b'"\\' else 0x41 for b in range(256))


def _splices_into_json(text: str) -> bool:
    """Whether ``text`` can stand inside a JSON string as it is: no quote,
    backslash or control character (nothing JSON escapes), valid UTF-8.

    Why: an identity conversion forwards base64 without decoding it, and the
    translators splice it into JSON templates; a quote from a client or an
    upstream would break the frame, or add keys to it.  One ``bytes.translate``
    (about 1.5 µs for a 20 ms chunk), cheaper than decoding.
    """
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (from a JSON escape)
        return False
    return b"\0" not in raw.translate(_JSON_SAFE_TO_A)


def _standard_b64(b64: str) -> str:
    """Map URL-safe base64 to the standard alphabet and restore missing padding."""
    if "-" in b64 or "_" in b64:
        b64 = b64.translate(_URLSAFE_TO_STANDARD)
    missing = -len(b64) % 4
    if missing:
        b64 += "=" * missing
    return b64


def _b64decode(b64: str) -> bytes:
    try:
        return base64.b64decode(_standard_b64(b64), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"audio is not valid base64: {exc}") from exc


def _b64len(b64: str) -> int:
    """Decoded length of a well-formed, padded base64 string, without decoding it."""
    return len(b64) * 3 // 4 - (len(b64) - len(b64.rstrip("=")))


# --------------------------------------------------------------------------- converter


class AudioConverter:
    """Streaming converter from one :class:`AudioFormat` to another.

    One instance per direction per session: it keeps the resampler history and
    any incomplete pcm16 sample between chunks.  Not thread-safe (it need not be:
    a session's pumps run in one event loop).

    :param quality: libsoxr quality recipe ("LQ", "MQ", "HQ", "VHQ"); see the
        module docstring for the latency/quality trade-off.
    """

    __slots__ = (
        "_bytes_in",
        "_bytes_out",
        "_carry",
        "_dst_bytes_per_second",
        "_src_bytes_per_second",
        "_decode_f32",
        "_decode_i16",
        "_encode",
        "_stream",
        "_transcode",
        "dst",
        "identity",
        "src",
    )

    def __init__(
        self, src: AudioFormat, dst: AudioFormat, *, quality: str = DEFAULT_QUALITY
    ) -> None:
        self.src: Final = src
        self.dst: Final = dst
        #: True when ``src == dst``: :meth:`convert` returns its input unchanged.
        self.identity: Final = src == dst
        self._bytes_in = 0
        self._bytes_out = 0
        # Read per chunk by ms_in/ms_out (the same arithmetic as AudioFormat.duration_ms).
        self._src_bytes_per_second: Final = src.bytes_per_second
        self._dst_bytes_per_second: Final = dst.bytes_per_second
        self._carry = b""  # first byte of an incomplete pcm16 sample
        self._transcode: bytes | None = None
        self._stream: Any = None  # soxr.ResampleStream (soxr ships no type information)
        self._encode: npt.NDArray[np.uint8] | None = None
        self._decode_i16: npt.NDArray[np.int16] | None = None
        self._decode_f32: npt.NDArray[np.float32] | None = None
        if self.identity:
            return
        if src.rate == dst.rate and src.encoding != "pcm16" and dst.encoding != "pcm16":
            self._transcode = _g711_tables().transcode[(src.encoding, dst.encoding)]
            return
        if src.rate != dst.rate:
            soxr = _import_soxr()
            self._stream = soxr.ResampleStream(
                src.rate, dst.rate, 1, dtype="float32", quality=quality
            )
        if src.encoding != "pcm16":
            tables = _g711_tables()
            self._decode_i16 = tables.decode[src.encoding]
            self._decode_f32 = tables.decode_f32[src.encoding]
        if dst.encoding != "pcm16":
            self._encode = _g711_tables().encode[dst.encoding]

    def __repr__(self) -> str:
        return f"AudioConverter({self.src!r}, {self.dst!r})"

    @property
    def ms_in(self) -> float:
        """Milliseconds of input audio accepted since creation or :meth:`reset`."""
        return self._bytes_in * 1000 / self._src_bytes_per_second

    @property
    def ms_out(self) -> float:
        """Milliseconds of output audio returned since creation or :meth:`reset`."""
        return self._bytes_out * 1000 / self._dst_bytes_per_second

    def convert(self, data: bytes) -> bytes:
        """Convert the next chunk of the stream; may return ``b""``.

        The output lags the input by the resampler's delay; :meth:`flush` at the
        end of a turn returns the remainder.  For an identity conversion the
        argument itself is returned, uncopied.
        """
        self._bytes_in += len(data)
        if self.identity:
            self._bytes_out += len(data)
            return data
        if self._transcode is not None:
            out = bytes(data).translate(self._transcode)
        else:
            out = self._convert_samples(data)
        self._bytes_out += len(out)
        return out

    def convert_b64(self, b64: str, *, json_safe: bool = False) -> str:
        """:meth:`convert` for base64 text, as OpenAI and Gemini carry audio.

        Accepts the standard or the URL-safe alphabet, with or without padding,
        and returns standard padded base64.  An identity conversion does not
        decode: it returns the argument itself when it is already standard and
        padded.  Invalid base64 is then left for the receiver to reject, but
        text that could not be spliced into JSON as it is (a quote, a
        backslash, a control character) is refused here.

        :param json_safe: the caller knows ``b64`` holds nothing JSON would
            escape (it was read from a JSON string that had no escapes), so an
            identity conversion skips that check.
        :raises ValueError: if the text is not valid base64 (for an identity
            conversion: if it holds a character JSON would escape).
        """
        if self.identity:
            if not json_safe and not _splices_into_json(b64):
                raise ValueError("audio is not valid base64: it holds a quote, a backslash or a control character")
            out = _standard_b64(b64)
            nbytes = _b64len(out)
            self._bytes_in += nbytes
            self._bytes_out += nbytes
            return out
        converted = self.convert(_b64decode(b64))
        return binascii.b2a_base64(converted, newline=False).decode("ascii")

    def pass_b64(self, b64: str) -> float | None:
        """For an identity conversion: when ``b64`` is standard padded base64
        holding nothing JSON would escape (the caller knows: see ``json_safe``
        in :meth:`convert_b64`), count it as converted and return the
        milliseconds that added to :attr:`ms_out` (:attr:`ms_out` after minus
        before, as a caller reading it around :meth:`convert_b64` gets).
        Otherwise change nothing and return None.

        What :meth:`convert_b64` does for such text, which it returns
        unchanged, in one call where that takes five: the steady state of a
        translated reply's audio, dozens of frames a second per session.
        """
        n = len(b64)
        if not self.identity or n & 3 or "-" in b64 or "_" in b64:
            return None
        nbytes = n * 3 // 4 - (n - len(b64.rstrip("=")))  # _b64len, inline
        bps = self._dst_bytes_per_second
        before = self._bytes_out * 1000 / bps
        self._bytes_in += nbytes
        self._bytes_out += nbytes
        return self._bytes_out * 1000 / bps - before

    def flush(self) -> bytes:
        """Drain the resampler at the end of a continuous stretch of audio.

        Returns the tail still inside the filter, then starts a fresh sequence:
        the next :meth:`convert` begins from silence, as at creation.  A pending
        half pcm16 sample is kept so the byte stream stays aligned.
        """
        if self._stream is None:
            return b""
        import numpy as np

        tail = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        self._stream.clear()
        out = self._encode_float(tail)
        self._bytes_out += len(out)
        return out

    def reset(self) -> None:
        """Forget everything: resampler history, pending byte and counters."""
        if self._stream is not None:
            self._stream.clear()
        self._carry = b""
        self._bytes_in = 0
        self._bytes_out = 0

    # -- internals ---------------------------------------------------------------

    def _convert_samples(self, data: bytes) -> bytes:
        import numpy as np

        if self.src.encoding == "pcm16":
            if self._carry:
                data = self._carry + bytes(data)
                self._carry = b""
            if len(data) & 1:
                self._carry = bytes(data[-1:])
            pcm = np.frombuffer(data, dtype="<i2", count=len(data) >> 1)
            if self._stream is None:
                return self._encode_int(pcm)
            samples = pcm.astype(np.float32)
        else:
            codes = np.frombuffer(data, dtype=np.uint8)
            if self._stream is None:
                assert self._decode_i16 is not None
                return self._encode_int(self._decode_i16[codes])
            assert self._decode_f32 is not None
            samples = self._decode_f32[codes]
        return self._encode_float(self._stream.resample_chunk(samples))

    def _encode_float(self, samples: npt.NDArray[np.float32]) -> bytes:
        """Round and clip resampler output (int16 scale) to int16, then encode."""
        import numpy as np

        rounded = np.rint(samples)
        np.clip(rounded, -32768, 32767, out=rounded)
        return self._encode_int(rounded.astype(np.int16))

    def _encode_int(self, pcm: npt.NDArray[np.int16]) -> bytes:
        import numpy as np

        if self._encode is None:
            return pcm.astype("<i2", copy=False).tobytes()
        return self._encode[pcm.astype(np.int16, copy=False).view(np.uint16)].tobytes()
