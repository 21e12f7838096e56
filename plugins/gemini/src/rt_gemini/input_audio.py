"""The client's input audio on its way to Gemini: which rate, which conversion, which frame.

Gemini Live's native input rate is 16 kHz, but Google documents that the
service resamples pcm16 sent at any other rate declared in the Blob's MIME
type (``audio/pcm;rate=24000``).  Resampling in rt costs latency -- libsoxr
"MQ" holds back about 21 ms of audio on average (38 ms at worst) in its block
filter -- and CPU on every 20 ms chunk, so by default (``input_audio_rate:
native``) rt sends the audio at the client's own rate:

=====================================  ==========================================
client input format                    sent to Gemini (``native``)
=====================================  ==========================================
``audio/pcm`` at rate R (24000 …)      the same bytes, ``audio/pcm;rate=R``: the
                                       base64 text itself is forwarded
``audio/pcmu`` / ``audio/pcma``        decoded to pcm16 by table lookup,
                                       ``audio/pcm;rate=8000`` (no resampling)
=====================================  ==========================================

An integer ``input_audio_rate`` (e.g. 16000, rt-vertex's default since Vertex
documents 16 kHz input only) resamples to that rate with :mod:`rt_core.audio`
as before.

:class:`InputAudio` is one session's converter for the format in force; the
translator makes a new one when ``session.update`` changes the input format,
so every frame built from it carries the rate its audio really has.
"""

from __future__ import annotations

import binascii
from typing import Final, Literal

from rt_core.audio import AudioConverter, AudioFormat

from . import wire

__all__ = ["InputAudio", "InputAudioRate", "decode_b64", "plain_b64_len", "upstream_format"]

#: The ``input_audio_rate`` setting: ``"native"`` or a rate in Hz to resample to.
InputAudioRate = Literal["native"] | int

_URLSAFE_TO_STANDARD: Final = str.maketrans("-_", "+/")
_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: Every byte of the standard base64 alphabet → NUL, any other byte → 1: after
#: ``translate``, a memchr for 1 finds any character outside the alphabet.
_B64_FLAGS: Final = bytes(0 if b in _B64_ALPHABET else 1 for b in range(256))


def plain_b64_len(b64: str) -> int:
    """The decoded length of ``b64`` if it is standard, padded base64 -- text
    ``binascii.a2b_base64(b64, strict_mode=True)`` accepts -- else ``-1`` (it
    may still be valid in another spelling: decode it to find out).

    Checking costs half of decoding (one ``bytes.translate`` and a memchr;
    comparing with a run of ``A`` instead took one more allocation and 15 %
    more time), and the OpenAI SDKs send exactly this spelling.
    """
    if not b64.isascii():
        return -1
    n = len(b64)
    if n & 3:
        return -1
    body = b64.rstrip("=")
    k = len(body)
    if n - k > 2 or 1 in body.encode("ascii").translate(_B64_FLAGS):
        return -1
    return k * 3 >> 2


def upstream_format(client: AudioFormat, rate: InputAudioRate) -> AudioFormat:
    """The pcm16 format Gemini is sent for ``client`` input under ``rate``."""
    if rate == "native":
        return AudioFormat("pcm16", client.rate)
    return AudioFormat("pcm16", rate)


def decode_b64(b64: str) -> bytes:
    """Either base64 alphabet, padding optional (OpenAI clients send both).

    :raises ValueError: not base64.
    """
    text = b64.translate(_URLSAFE_TO_STANDARD) if ("-" in b64 or "_" in b64) else b64
    try:
        return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise ValueError(f"audio is not valid base64: {exc}") from None


class InputAudio:
    """Client input audio → pcm16 for Gemini at :attr:`dst`'s rate, streaming.

    :ivar src: the client's input format.
    :ivar dst: what Gemini is sent (pcm16; its rate goes in the MIME type).
    :ivar head: the frame template for :attr:`dst` (:func:`wire.audio_frame_head`).
    :ivar passthrough: the client already sends :attr:`dst`: the audio is only
        checked (valid base64, whole samples) and its text forwarded.
    """

    __slots__ = ("_bytes_in", "_bytes_per_second", "_carry", "_conv", "dst", "head", "passthrough", "src")

    def __init__(self, client: AudioFormat, rate: InputAudioRate) -> None:
        self.src = client
        self.dst = upstream_format(client, rate)
        self.head = wire.audio_frame_head(self.dst.rate)
        self.passthrough = client == self.dst
        self._conv = None if self.passthrough else AudioConverter(client, self.dst)
        self._bytes_in = 0  # passthrough only; the converter counts its own
        self._bytes_per_second = client.bytes_per_second
        self._carry = b""  # passthrough: the first byte of a pcm16 sample split across chunks

    def __repr__(self) -> str:
        return f"InputAudio({self.src!r} -> {self.dst!r})"

    @property
    def ms_in(self) -> float:
        """Milliseconds of client audio accepted since creation or :meth:`reset`."""
        if self._conv is not None:
            return self._conv.ms_in
        return self._bytes_in * 1000 / self._bytes_per_second  # as AudioFormat.duration_ms, exactly

    def frame(self, b64: str) -> str:
        """The ``realtimeInput.audio`` frame carrying ``b64`` (audio in :attr:`dst`)."""
        return self.head + b64 + wire.AUDIO_FRAME_TAIL

    def convert_b64(self, b64: str) -> str:
        """The next client chunk (base64) as standard base64 of :attr:`dst`; may be ``""``.

        In passthrough the usual chunk -- standard padded base64 of whole
        samples -- is only checked (:func:`plain_b64_len`, not decoded) and the
        client's own text is returned; anything else is decoded and re-encoded.

        :raises ValueError: not base64.
        """
        conv = self._conv
        if conv is not None:
            return conv.convert_b64(b64)
        if self.take_plain_b64(b64) is not None:
            return b64
        try:
            raw = binascii.a2b_base64(b64, strict_mode=True)
        except binascii.Error:
            raw = None
        if raw is not None and not len(raw) & 1 and not self._carry:
            self._bytes_in += len(raw)
            return b64
        pcm = self.convert(decode_b64(b64) if raw is None else raw)
        return binascii.b2a_base64(pcm, newline=False).decode("ascii") if pcm else ""

    def take_plain_b64(self, b64: str) -> float | None:
        """In passthrough, with no half sample held: when ``b64`` is standard
        padded base64 of whole samples, not empty (:func:`plain_b64_len`) --
        what :meth:`convert_b64` would return unchanged -- count it as accepted
        and return how much that added to :attr:`ms_in` (computed as the
        difference of the two, as a caller reading :attr:`ms_in` around
        :meth:`convert_b64` gets).  Otherwise change nothing and return None."""
        if self._conv is not None or self._carry:
            return None
        n = plain_b64_len(b64)
        if n <= 0 or n & 1:
            return None
        bps = self._bytes_per_second
        before = self._bytes_in * 1000 / bps
        self._bytes_in += n
        return self._bytes_in * 1000 / bps - before

    def convert(self, data: bytes) -> bytes:
        """The next client chunk (raw bytes) as :attr:`dst` bytes; may be ``b""``."""
        if self._conv is not None:
            return self._conv.convert(data)
        self._bytes_in += len(data)
        if self._carry:
            data = self._carry + data
            self._carry = b""
        if len(data) & 1:
            self._carry = data[-1:]
            data = data[:-1]
        return data

    def flush(self) -> bytes:
        """What a resampler still holds at the end of a stretch of audio (``b""``
        in passthrough and for G.711 at 8 kHz, which hold nothing)."""
        return self._conv.flush() if self._conv is not None else b""

    def reset(self) -> None:
        """Forget held audio and the counters."""
        if self._conv is not None:
            self._conv.reset()
        self._bytes_in = 0
        self._carry = b""
