"""The private vocabulary between the Nova translator and the Nova upstream.

A Nova Sonic stream lives about 8 minutes, so one rt session may use several
SDK streams in turn ("generations" 0, 1, 2, …).  The translator decides
*when* to move on and *what* the next stream is seeded with; the upstream only
does the I/O.  Everything here is a plain value, so the translator stays pure
and golden sessions can record these objects.

Translator → upstream (inside ``ToUpstream``):

* :class:`Frame` -- one Nova input event (JSON text) for one generation.  The
  generation tag makes routing exact even though the core sends actions from
  several tasks: a frame meant for a stream that is not yet promoted waits for
  it, a frame for a stream already replaced is sent to it if it is still open.
* :class:`OpenStream` -- open the next stream in the background and send it
  its first events (``sessionStart``).
* :class:`PromoteStream` -- seed the next stream (prompt, system, history,
  audio block, replayed audio), make it current, and close the previous one
  with ``close_events``.
* :class:`DropStream` -- abandon a stream that will not be promoted.

Upstream → translator (returned by ``receive()``; plain ``bytes`` is a Nova
output event of the current stream):

* :class:`StreamOpened`, :class:`StreamFailed` (a stream that was being
  opened), :class:`StreamError` and :class:`StreamEnded` (the current stream).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Frame",
    "OpenStream",
    "PromoteStream",
    "DropStream",
    "NovaError",
    "StreamOpened",
    "StreamFailed",
    "StreamError",
    "StreamEnded",
]


@dataclass(frozen=True, slots=True)
class Frame:
    """One Nova input event for stream ``gen``."""

    gen: int
    text: str


@dataclass(frozen=True, slots=True)
class OpenStream:
    gen: int
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PromoteStream:
    gen: int
    events: tuple[str, ...] = ()
    close_events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DropStream:
    gen: int
    close_events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NovaError:
    """A Bedrock error, reduced to what the translator needs.

    ``kind`` is the Bedrock exception name (``ThrottlingException``,
    ``ValidationException``, …) or ``TransportError`` for network failures.
    """

    kind: str
    message: str = ""
    status: int | None = None

    @property
    def recoverable(self) -> bool:
        """Whether a fresh stream may succeed where this one failed."""
        if self.kind in (
            "ModelTimeoutException",
            "ModelStreamErrorException",
            "InternalServerException",
            "ServiceUnavailableException",
            "ThrottlingException",
            "ModelNotReadyException",
            "TransportError",
        ):
            return True
        if self.kind == "ValidationException":
            # The silence timeout (InternalErrorCode=531) and the stream time
            # limit are reported as validation errors.
            m = self.message.lower()
            return "531" in m or "timed out" in m or "timeout" in m or "time limit" in m
        return False


@dataclass(frozen=True, slots=True)
class StreamOpened:
    gen: int


@dataclass(frozen=True, slots=True)
class StreamFailed:
    gen: int
    error: NovaError = field(default_factory=lambda: NovaError("TransportError"))


@dataclass(frozen=True, slots=True)
class StreamError:
    gen: int
    error: NovaError = field(default_factory=lambda: NovaError("TransportError"))


@dataclass(frozen=True, slots=True)
class StreamEnded:
    gen: int
