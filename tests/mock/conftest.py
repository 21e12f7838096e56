"""Fixtures for the rt-mock tests.

``mock`` builds a :class:`Driver`: it plays the relay's part for a
:class:`~rt_mock.MockTranslator` -- sends client events, fires the timers the
translator schedules in *virtual* time (no sleeping), and validates every
server event against the official SDK's GA union
(``openai.types.realtime.RealtimeServerEvent``), rejecting unknown fields too.
"""

from __future__ import annotations

import base64
import math
from array import array
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from openai.types.realtime import RealtimeServerEvent
from rt_core import Close, Event, IdFactory, Schedule, ToClient, ToUpstream, UpstreamOpened
from rt_mock import MockSettings, MockTranslator

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)

#: Fields the SDK models do not declare but the real service sends.
ALLOWED_EXTRAS = {"session.id", "session.object"}


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}".lstrip(".")
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _extras(v, f"{path}[{i}]")


def validate_server_event(event: dict[str, Any]) -> BaseModel:
    """Validate one GA server event with the SDK types; no undeclared fields."""
    model = SERVER_EVENT.validate_python(event)
    assert model.type == event["type"]
    unexpected = [p for p in _extras(model, "") if p not in ALLOWED_EXTRAS]
    assert not unexpected, f"{event['type']}: fields the SDK does not know: {unexpected}"
    return model


class Driver:
    """A MockTranslator driven like the relay drives it, with virtual time."""

    def __init__(self, **settings: Any) -> None:
        self.translator = MockTranslator(
            MockSettings(model="mock/mock", **settings), model="mock", ids=IdFactory(seed="t"), session_id="sess_test"
        )
        self.now = 0.0
        self.timers: dict[str, tuple[float, int, Any]] = {}
        self._seq = 0
        self.events: list[dict[str, Any]] = []
        self._event_ids: set[str] = set()
        self.created = self._apply(self.translator.outbound(UpstreamOpened()))

    # -------------------------------------------------------------- plumbing

    def _apply(self, actions: list[Any] | None) -> list[dict[str, Any]]:
        out = []
        for action in actions or []:
            assert not isinstance(action, (ToUpstream, Close)), f"the mock must not emit {action!r}"
            if isinstance(action, ToClient):
                event = action.event if isinstance(action.event, dict) else action.event.data
                validate_server_event(event)
                assert event["event_id"] not in self._event_ids, "event ids must be unique"
                self._event_ids.add(event["event_id"])
                out.append(event)
            else:
                assert isinstance(action, Schedule)
                name = action.signal.name
                if action.delay < 0:
                    self.timers.pop(name, None)
                else:
                    self._seq += 1
                    self.timers[name] = (self.now + action.delay, self._seq, action.signal)
        self.events += out
        return out

    def send(self, type_: str, **fields: Any) -> list[dict[str, Any]]:
        """One client event; returns the events it caused at once."""
        return self.send_event({"type": type_, **fields})

    def send_event(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return self._apply(self.translator.inbound(Event.from_data(data)))

    def fire_next(self) -> list[dict[str, Any]]:
        """Fire the earliest pending timer (advancing virtual time to it)."""
        name, (due, _, signal) = min(self.timers.items(), key=lambda kv: kv[1][:2])
        del self.timers[name]
        self.now = max(self.now, due)
        return self._apply(self.translator.inbound(signal))

    def run(self, *, until: Callable[[dict[str, Any]], bool] | None = None, max_time: float = 600.0
            ) -> list[dict[str, Any]]:
        """Fire timers until none is left (or an event matches ``until``)."""
        out: list[dict[str, Any]] = []
        while self.timers and min(d for d, _, _ in self.timers.values()) <= max_time:
            new = self.fire_next()
            out += new
            if until is not None and any(until(e) for e in new):
                break
        return out

    def append_audio(self, pcm: bytes, chunk_ms: int = 20) -> list[dict[str, Any]]:
        """Append audio in ``chunk_ms`` pieces, like a microphone would."""
        out = []
        size = chunk_ms * 48
        for i in range(0, len(pcm), size):
            out += self.send("input_audio_buffer.append", audio=base64.b64encode(pcm[i : i + size]).decode())
        return out

    @property
    def session(self) -> dict[str, Any]:
        return self.translator.session


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def tone(ms: int, amplitude: float = 0.3, freq: float = 200.0) -> bytes:
    """PCM16 24 kHz mono sine: "speech" to the mock's VAD."""
    n = ms * 24
    return array("h", [int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / 24000)) for i in range(n)]).tobytes()


def silence(ms: int) -> bytes:
    return bytes(ms * 48)


class Helpers:
    types = staticmethod(types)
    tone = staticmethod(tone)
    silence = staticmethod(silence)
    validate = staticmethod(validate_server_event)


@pytest.fixture
def mock() -> Callable[..., Driver]:
    """``mock(**litellm_params)`` → a started :class:`Driver`."""
    return Driver


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
