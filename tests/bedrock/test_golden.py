"""Golden sessions: whole recorded sessions replayed through the translator.

Each ``golden/<name>.in.jsonl`` line is one input, in order:

* ``{"client": {...}}`` -- a GA client event (``translate_inbound``);
* ``{"nova": {...}}`` -- a Nova output event (``translate_outbound``);
* ``{"signal": "upstream_opened" | "stream_opened" | "stream_failed" | "stream_error" | "stream_ended",
  "gen": n, "kind": ..., "message": ...}``;
* ``{"timer": "bedrock.continue", "advance": seconds}`` -- advance the clock, fire a timer.

``golden/<name>.out.jsonl`` holds, per input line, the actions the translator
returned (client events, Nova frames with their stream generation, control
objects, timers, closes, or the client error raised).  ``RT_UPDATE_GOLDEN=1``
rewrites the expected files on purpose; review the diff before committing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from rt_core import ClientEventError, Close, Event, Schedule, TimerFired, ToClient, ToUpstream, UpstreamOpened
from rt_bedrock.control import Frame, NovaError, StreamEnded, StreamError, StreamFailed, StreamOpened

from .conftest import GA_SERVER, FakeClock, make_translator

GOLDEN = Path(__file__).parent / "golden"
SESSIONS = sorted(p.name[: -len(".in.jsonl")] for p in GOLDEN.glob("*.in.jsonl"))


def _action(a: Any) -> dict[str, Any]:
    if isinstance(a, ToClient):
        data = a.event.data if isinstance(a.event, Event) else a.event
        GA_SERVER.validate_python(data)
        return {"client": data}
    if isinstance(a, ToUpstream):
        f = a.frame
        if isinstance(f, Frame):
            return {"nova": json.loads(f.text), "gen": f.gen}
        d = dataclasses.asdict(f)
        for key in ("events", "close_events"):
            if key in d:
                d[key] = [json.loads(e) for e in d[key]]
        return {"control": type(f).__name__, **d}
    if isinstance(a, Schedule):
        return {"schedule": a.signal.name, "delay": a.delay}
    if isinstance(a, Close):
        return {"close": a.code, "reason": a.reason, "error": a.error}
    raise AssertionError(f"unexpected action {a!r}")


def _signal(line: dict[str, Any]) -> Any:
    kind, gen = line["signal"], line.get("gen", 0)
    err = NovaError(line.get("kind", "TransportError"), line.get("message", ""))
    return {
        "upstream_opened": lambda: UpstreamOpened(),
        "stream_opened": lambda: StreamOpened(gen),
        "stream_failed": lambda: StreamFailed(gen, err),
        "stream_error": lambda: StreamError(gen, err),
        "stream_ended": lambda: StreamEnded(gen),
    }[kind]()


def replay(name: str) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in (GOLDEN / f"{name}.in.jsonl").read_text().splitlines() if x.strip()]
    header = lines[0].get("settings", {}) if lines and "settings" in lines[0] else None
    if header is not None:
        lines = lines[1:]
    clock = FakeClock()
    tr = make_translator(clock=clock, **(header or {}))
    out = []
    for i, line in enumerate(lines):
        try:
            if "client" in line:
                actions = tr.inbound(Event.from_data(line["client"]))
            elif "nova" in line:
                actions = tr.outbound(json.dumps(line["nova"]).encode())
            elif "signal" in line:
                actions = tr.outbound(_signal(line))
            elif "timer" in line:
                clock.now += line.get("advance", 0)
                actions = tr.inbound(TimerFired(line["timer"]))
            else:
                raise AssertionError(f"bad golden input line {i}: {line}")
            out.append({"step": i, "actions": [_action(a) for a in actions]})
        except ClientEventError as exc:
            out.append({"step": i, "client_error": exc.to_error()})
    return out


@pytest.mark.parametrize("name", SESSIONS)
def test_golden_session(name):
    got = replay(name)
    expected_path = GOLDEN / f"{name}.out.jsonl"
    if os.environ.get("RT_UPDATE_GOLDEN") == "1":
        expected_path.write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in got))
    expected = [json.loads(x) for x in expected_path.read_text().splitlines() if x.strip()]
    assert json.loads(json.dumps(got, sort_keys=True)) == expected


def test_golden_sessions_exist():
    assert {"audio_turn", "tool_call", "continuation", "text_turn"} <= set(SESSIONS)
