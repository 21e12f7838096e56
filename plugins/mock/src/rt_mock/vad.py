"""The input audio buffer and a deterministic server VAD, in *audio time*.

Real servers time speech by the audio they receive, not by the wall clock, and
so does this one: every position is "milliseconds of audio appended since the
session started", computed from byte counts.  The same appends therefore give
the same ``speech_started``/``speech_stopped`` events at the same
``audio_start_ms``/``audio_end_ms``, however fast or slow a client sends them.

Detection works on 10 ms frames.  A frame is speech when its RMS level reaches
``level_for_threshold(threshold)``: the session's ``threshold`` (0..1) maps
linearly onto -60..-20 dBFS, so the default 0.5 means -40 dBFS.  Speech starts
on the first speech frame (the reported start includes ``prefix_padding_ms``)
and stops after ``silence_duration_ms`` of consecutive non-speech frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from .audio import PCM, bytes_per_ms, rms_level, to_pcm16

__all__ = ["VadParams", "SpeechStarted", "SpeechStopped", "InputAudio", "level_for_threshold"]

FRAME_MS = 10


def level_for_threshold(threshold: float) -> float:
    """RMS level (fraction of full scale) a frame needs to count as speech."""
    return 10 ** ((-60.0 + 40.0 * threshold) / 20.0)


@dataclass(frozen=True, slots=True)
class VadParams:
    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    audio_end_ms: int
    #: The audio committed for the user's turn (prefix padding + speech + the silence).
    audio: bytes


class InputAudio:
    """Uncommitted input audio, with optional voice-activity detection."""

    def __init__(self) -> None:
        self.buffer = bytearray()  # analysed, uncommitted audio
        self._pending = bytearray()  # less than one frame, not analysed yet
        self.time_ms = 0.0  # audio time of the end of everything appended
        self.buffer_start_ms = 0.0  # audio time of buffer[0]
        self.speaking = False
        self.speech_start_ms = 0
        self._silence_ms = 0

    def buffered_ms(self, fmt: str) -> float:
        """Duration of everything a commit would take, in ms."""
        return (len(self.buffer) + len(self._pending)) / bytes_per_ms(fmt)

    def append(self, data: bytes, fmt: str, vad: VadParams | None) -> list[SpeechStarted | SpeechStopped]:
        """Add audio; with ``vad``, return the speech boundaries it crossed."""
        bpm = bytes_per_ms(fmt)
        if vad is None:
            self.buffer += self._pending
            self._pending.clear()
            self.buffer += data
            self.time_ms += len(data) / bpm
            return []
        out: list[SpeechStarted | SpeechStopped] = []
        threshold = level_for_threshold(vad.threshold)
        frame = FRAME_MS * bpm
        self._pending += data
        # Frames already analysed end at time_ms; pending bytes are not counted yet.
        usable = len(self._pending) - len(self._pending) % frame
        for offset in range(0, usable, frame):
            chunk = self._pending[offset : offset + frame]
            self.buffer += chunk
            frame_start = self.time_ms
            self.time_ms += FRAME_MS
            is_speech = rms_level(to_pcm16(bytes(chunk), fmt)) >= threshold
            if not self.speaking:
                if is_speech:
                    self.speaking = True
                    self._silence_ms = 0
                    self.speech_start_ms = int(max(self.buffer_start_ms, frame_start - vad.prefix_padding_ms))
                    out.append(SpeechStarted(self.speech_start_ms))
                else:
                    self._keep_last(vad.prefix_padding_ms, bpm)
            elif is_speech:
                self._silence_ms = 0
            else:
                self._silence_ms += FRAME_MS
                if self._silence_ms >= vad.silence_duration_ms:
                    self.speaking = False
                    out.append(SpeechStopped(int(self.time_ms), self._take_buffer()))
        del self._pending[:usable]
        return out

    def _keep_last(self, ms: int, bpm: int) -> None:
        """Outside speech only the prefix padding is worth keeping."""
        keep = ms * bpm
        if len(self.buffer) > keep:
            drop = len(self.buffer) - keep
            del self.buffer[:drop]
            self.buffer_start_ms += drop / bpm

    def _take_buffer(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        self.buffer_start_ms = self.time_ms
        return data

    def commit(self, fmt: str) -> bytes:
        """Take everything buffered (a manual commit) and reset speech state."""
        bpm = bytes_per_ms(fmt)
        self.buffer += self._pending
        self.time_ms += len(self._pending) / bpm
        self._pending.clear()
        self.speaking = False
        self._silence_ms = 0
        return self._take_buffer()

    def clear(self, fmt: str = PCM) -> None:
        """Drop everything buffered (``input_audio_buffer.clear``)."""
        self.commit(fmt)
