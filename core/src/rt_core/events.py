"""Events, actions and signals: the vocabulary shared by the core and translators.

Inside rt every OpenAI Realtime event is in the **GA** dialect.  An
:class:`Event` keeps the original JSON text next to a lazily parsed dict, so a
frame that needs no change can be forwarded byte for byte without being parsed
or re-serialised (the passthrough hot path), while a translator that needs the
fields just reads ``event.data``.

Translators are pure: they receive an :class:`Event` (or an upstream frame, or
a :class:`Signal`) and return a list of *actions* -- :class:`ToClient`,
:class:`ToUpstream`, :class:`Schedule`, :class:`Close` -- that the session's I/O
layer carries out in order.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import ClientEventError

#: The C string scanner ``json.loads`` itself uses (strict: control characters refused).
_scan_json_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

__all__ = [
    "Event",
    "ToClient",
    "ToUpstream",
    "Schedule",
    "Close",
    "Action",
    "Signal",
    "UpstreamOpened",
    "UpstreamLost",
    "TimerFired",
    "IdFactory",
    "error_event",
    "error_object",
    "peek_type",
    "plain_append",
    "append_parts",
    "append_audio_span",
    "dumps",
    "loads_relayable",
    "TooDeep",
    "UnpairedSurrogate",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(obj: Any) -> str:
    """Compact JSON, the form rt writes every event in."""
    return _dumps(obj)


#: How deep a client event's objects and arrays may nest.  Why a limit of rt's
#: own: how deep ``json.loads`` goes depends on the Python version (3.12 stops
#: near its recursion limit, 3.13 goes much deeper), and whatever later walks
#: the event recursively (a translator, the JSON encoder, pydantic) would fail
#: at some depth of its own, in the middle of handling it.  Real events nest a
#: few levels; a tool's JSON Schema a few dozen.
MAX_EVENT_DEPTH = 256


def _too_deep() -> ClientEventError:
    return ClientEventError(f"The event nests objects and arrays more than {MAX_EVENT_DEPTH} levels deep.",
                            code="invalid_event")


class TooDeep(ValueError):
    """JSON nesting objects and arrays more than :data:`MAX_EVENT_DEPTH` levels deep."""


class UnpairedSurrogate(ValueError):
    """JSON holding a ``\\uD800``-``\\uDFFF`` escape that is not half of a pair."""


def loads_relayable(text: str | bytes) -> Any:
    """``json.loads``, refusing the JSON rt could parse but not relay.

    JSON's grammar allows both, and each fails later, in the middle of
    handling the frame (ending the session), unless it is refused here:

    * nesting deeper than :data:`MAX_EVENT_DEPTH` (how deep ``json.loads``
      itself goes depends on the Python version; whatever walks the value
      afterwards has a limit of its own);
    * an unpaired surrogate escape (UTF-8 cannot carry it, so encoding what
      rt sends or logs fails).

    The checks cost a scan of the text unless it holds more than
    :data:`MAX_EVENT_DEPTH` brackets or a ``\\ud`` escape.  For client
    events (:meth:`Event.from_text`) and for the frames of upstreams whose
    translators parse them.

    :raises TooDeep: (a ValueError) too deep.
    :raises UnpairedSurrogate: (a ValueError) an unpaired surrogate.
    :raises ValueError: not JSON.
    """
    try:
        data = json.loads(text)
    except RecursionError:  # Python 3.12's parser, at about its recursion limit
        raise TooDeep(f"nested more than {MAX_EVENT_DEPTH} levels deep") from None
    if isinstance(text, str):
        brackets, surrogate = text.count("[") + text.count("{"), "\\ud" in text or "\\uD" in text
    else:
        raw = bytes(text)
        brackets, surrogate = raw.count(b"[") + raw.count(b"{"), b"\\ud" in raw or b"\\uD" in raw
    if brackets > MAX_EVENT_DEPTH and _nesting_depth(data) > MAX_EVENT_DEPTH:
        raise TooDeep(f"nested more than {MAX_EVENT_DEPTH} levels deep")
    if surrogate and _has_lone_surrogate(data):
        raise UnpairedSurrogate("an unpaired UTF-16 surrogate escape, which UTF-8 text cannot carry")
    return data


def _nesting_depth(value: Any) -> int:
    """How deep objects and arrays nest in a parsed value (1 for ``{}``),
    walked without recursion: the value may be deeper than Python's limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_EVENT_DEPTH:
                break
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _has_lone_surrogate(data: Any) -> bool:
    """Whether a parsed value holds an unpaired surrogate (from a ``\\udXXX``
    escape JSON's grammar allows): it would fail later, when rt encodes what
    it sends or logs as UTF-8, so it is refused where it arrives."""
    try:
        _dumps(data).encode()
    except UnicodeEncodeError:
        return True
    return False


_TYPE_PREFIXES = ('{"type":"', '{"type": "')
_APPEND = "input_audio_buffer.append"


def peek_type(text: str) -> str | None:
    """Return the event ``type`` when ``text`` starts with it, without parsing.

    The OpenAI SDKs and services write ``type`` first, so this almost always
    succeeds; ``None`` means "parse to find out".
    """
    for prefix in _TYPE_PREFIXES:
        if text.startswith(prefix):
            end = text.find('"', len(prefix))
            if end > 0:
                t = text[len(prefix) : end]
                if "\\" not in t:
                    return t
            return None
    return None


#: The two spellings of an audio append that clients send (JavaScript's
#: ``JSON.stringify`` and Python's ``json.dumps``), up to the audio string.
_APPEND_HEADS = ('{"type":"input_audio_buffer.append","audio":"', '{"type": "input_audio_buffer.append", "audio": "')
#: After the audio string: an ``event_id`` with no escapes, then the end (JSON whitespace only).
_APPEND_ID_TAIL = re.compile(r'[ \t\n\r]*,[ \t\n\r]*"event_id"[ \t\n\r]*:[ \t\n\r]*"([^"\\\x00-\x1f]*)"[ \t\n\r]*\}')


def plain_append(text: str) -> "Event | None":
    """The ``input_audio_buffer.append`` event ``text`` is, when it is spelled
    the usual way, else None (then parse it with :meth:`Event.from_text`).

    The usual way: one of :data:`_APPEND_HEADS`, the audio string, then
    ``}`` or an ``event_id`` and ``}``.  The audio string is read with
    ``json``'s own C string scanner (strict, as ``json.loads`` reads it),
    without the general decoder around it: less than half the cost of
    ``json.loads``, which was the largest single cost of relaying an audio
    frame.  Anything else returns None and gets the full parse, so the
    answer is always the one ``json.loads`` gives.
    """
    parts = append_parts(text)
    if parts is None:
        return None
    audio, event_id = parts
    if event_id is None:
        return Event(_APPEND, text, {"type": _APPEND, "audio": audio})
    return Event(_APPEND, text, {"type": _APPEND, "audio": audio, "event_id": event_id})


def append_audio_span(text: str) -> tuple[int, int] | None:
    """``(start, end)`` of the audio string's characters (``text[start:end]``)
    when ``text`` is an audio append spelled the usual way (see
    :func:`plain_append`) whose audio string has no escapes, else None.  The
    frame is checked for what it is -- the head, the string's closing quote,
    an optional ``event_id``, the end -- but the audio's characters are not
    read.

    For rt's shortcuts (docs/hooks.md): a frame forwarded unchanged to an
    upstream that parses it itself, where the audio is the upstream's to
    judge, so a control character inside it gets the upstream's own
    invalid-JSON error; or audio handed to a translator that refuses anything
    but base64, control characters included.  :func:`plain_append` (for
    everything else) lets the full parse refuse them.  Finding the quote is a
    memchr; reading every character was the largest cost of relaying a
    passthrough append.
    """
    for head in _APPEND_HEADS:
        if text.startswith(head):
            break
    else:
        return None
    start = len(head)
    end = text.find('"', start)
    if end < 0 or text.find("\\", start, end) >= 0:
        return None
    if (end == len(text) - 2 and text[-1] == "}") or _APPEND_ID_TAIL.fullmatch(text, end + 1) is not None:
        return start, end
    return None


def append_parts(text: str) -> tuple[str, str | None] | None:
    """``(audio, event_id or None)`` when ``text`` is an append spelled the usual
    way -- what :func:`plain_append` builds its event from -- else None."""
    for head in _APPEND_HEADS:
        if text.startswith(head):
            break
    else:
        return None
    try:
        audio, end = _scan_json_string(text, len(head))
    except ValueError:  # unterminated, a control character, a bad escape: let the parse say so
        return None
    if end == len(text) - 1 and text[end] == "}":
        return audio, None
    tail = _APPEND_ID_TAIL.fullmatch(text, end)
    if tail is None:
        return None
    return audio, tail.group(1)


class Event:
    """One OpenAI Realtime event (GA dialect), parsed on demand.

    Build it with :meth:`from_text` (a received frame) or :meth:`from_data`
    (a dict you made).  Treat ``data`` as read-only once the event exists:
    to change an event, make a new one with :meth:`from_data`.
    """

    __slots__ = ("type", "_text", "_data")

    def __init__(self, type: str, text: str | None = None, data: dict[str, Any] | None = None) -> None:
        self.type = type
        self._text = text
        self._data = data

    @classmethod
    def from_text(cls, text: str, *, trusted: bool = False) -> "Event":
        """Wrap a received JSON text frame.

        ``trusted`` (frames from an upstream) allows the type to be peeked
        without parsing; untrusted frames (from clients) are parsed so that
        malformed JSON is caught here, not by the provider.

        :raises ClientEventError: malformed JSON, not an object, or no ``type``.
        """
        if trusted:
            t = peek_type(text)
            if t is not None:
                return cls(t, text, None)
        try:
            data = loads_relayable(text)
        except TooDeep:
            raise _too_deep() from None
        except UnpairedSurrogate:
            raise ClientEventError(
                "The frame is not valid JSON: it holds an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape "
                "that is not half of a pair), which UTF-8 text cannot carry.",
                code="invalid_json",
            ) from None
        except ValueError as exc:
            raise ClientEventError(f"The frame is not valid JSON: {exc}", code="invalid_json") from None
        if not isinstance(data, dict):
            raise ClientEventError(
                f"Expected a JSON object, got {type(data).__name__ if not isinstance(data, list) else 'array'}.",
                code="invalid_event",
            )
        t = data.get("type")
        if not isinstance(t, str) or not t:
            eid = data.get("event_id") if isinstance(data.get("event_id"), str) else None
            raise ClientEventError(
                "The event has no 'type' string.", code="missing_type", param="type", event_id=eid
            )
        return cls(t, text, data)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Event":
        """Wrap a dict that already has a ``type``."""
        return cls(data["type"], None, data)

    @property
    def data(self) -> dict[str, Any]:
        d = self._data
        if d is None:
            # Parsed on first use (an upstream's event wrapped unparsed): ValueError
            # when it is not JSON rt can relay (the relay answers that: _to_client).
            d = self._data = loads_relayable(self._text)  # type: ignore[arg-type]
        return d

    @property
    def text(self) -> str:
        t = self._text
        if t is None:
            t = self._text = _dumps(self._data)
        return t

    @property
    def is_parsed(self) -> bool:
        return self._data is not None

    @property
    def event_id(self) -> str | None:
        eid = self.data.get("event_id")
        return eid if isinstance(eid, str) else None

    def __repr__(self) -> str:  # never includes payloads: they may carry audio
        return f"Event({self.type!r})"


# --------------------------------------------------------------------------- actions


@dataclass(slots=True)
class ToClient:
    """Send a GA server event to the client (the dialect edge converts it)."""

    event: Event | dict[str, Any]


@dataclass(slots=True)
class ToUpstream:
    """Send a frame to the upstream.  ``frame`` is whatever the provider's
    Upstream object accepts: usually ``str``/``bytes``, but a plugin may pass
    its own control objects to its own Upstream (e.g. a reconnect request)."""

    frame: Any


@dataclass(slots=True)
class Schedule:
    """Deliver ``signal`` to the translator (via ``translate_inbound``) after
    ``delay`` seconds.  A later Schedule with the same ``signal.name``
    replaces the earlier one; ``delay < 0`` cancels it."""

    delay: float
    signal: "TimerFired"


@dataclass(slots=True)
class Close:
    """End the session: optionally send ``error`` first, then close both sides."""

    code: int = 1000
    reason: str = ""
    error: dict[str, Any] | None = None


Action = Union[ToClient, ToUpstream, Schedule, Close]


# --------------------------------------------------------------------------- signals


class Signal:
    """Something that happened to the session that is not a frame."""

    __slots__ = ()
    type = "rt.signal"


@dataclass(slots=True)
class UpstreamOpened(Signal):
    """Delivered through ``translate_outbound`` once the upstream is open."""

    type = "rt.upstream.opened"


@dataclass(slots=True)
class UpstreamLost(Signal):
    """Delivered through ``translate_outbound`` when the upstream closed.
    Return ``None`` for the core default (an ``error`` event, then close)."""

    code: int = 1006
    reason: str = ""
    type = "rt.upstream.lost"


@dataclass(slots=True)
class TimerFired(Signal):
    """Delivered through ``translate_inbound`` when a :class:`Schedule` expires."""

    name: str
    payload: Any = None
    type = "rt.timer"


# --------------------------------------------------------------------------- ids & errors


@dataclass
class IdFactory:
    """Makes OpenAI-looking ids (``event_…``, ``resp_…``, ``item_…``).

    Injected into translators so a recorded session replays with the same ids:
    tests pass ``IdFactory(seed="test")`` for deterministic ids.
    """

    seed: str | None = None
    _counter: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    def __post_init__(self) -> None:
        if self.seed is None:
            self.seed = os.urandom(6).hex()

    def __call__(self, prefix: str) -> str:
        # zfill, not the :06d format spec: the same text at half the cost (one id per audio delta)
        return f"{prefix}_{self.seed}{str(next(self._counter)).zfill(6)}"


def monotonic() -> float:
    """The default clock injected into translators."""
    return time.monotonic()


def error_object(
    message: str,
    *,
    code: str | None = None,
    type: str = "invalid_request_error",
    param: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The ``error`` object of an OpenAI ``error`` event (what ``Close.error`` carries)."""
    return {"type": type, "code": code, "message": message, "param": param, "event_id": event_id}


def error_event(
    message: str,
    *,
    code: str | None = None,
    type: str = "invalid_request_error",
    param: str | None = None,
    event_id: str | None = None,
    ids: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """An OpenAI ``error`` server event (GA and beta share this shape)."""
    return {
        "type": "error",
        "event_id": ids("event") if ids else "event_rt_error",
        "error": error_object(message, code=code, type=type, param=param, event_id=event_id),
    }
