"""Golden sessions: whole recorded sessions replayed through the translator.

Each ``golden/<name>.jsonl`` is a recording of everything that reached the
translator, in order (one JSON object per line):

* ``{"options": {...}}`` (optional, first): translator options (``platform``, ``model``, …);
* ``{"signal": "opened"}``, ``{"signal": "reconnected"}``,
  ``{"signal": "dropped", "code": 1011, "reason": "…"}``, ``{"signal": "lost", …}``;
* ``{"client": <GA client event>}``, ``{"gemini": <Gemini server message>}``,
  ``{"timer": "<name>"}``.

The replay's output is compared with ``golden/<name>.expected.jsonl`` (one line
per action: client events, Gemini frames, reconnects, timers, closes; audio
payloads abbreviated to their length and hash).  Set ``RT_UPDATE_GOLDEN=1`` to
rewrite the expected files after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rt_core import (
    ClientEventError,
    Close,
    Event,
    Schedule,
    TimerFired,
    ToClient,
    ToUpstream,
    UpstreamLost,
    UpstreamOpened,
)
from rt_gemini.upstream import ConnectionDropped, Reconnect, Reconnected
from tests.fakes.gemini_live import validate_client_message

from .support import GA_SERVER, Driver, digest, event_dict, validate_server_message

GOLDEN = Path(__file__).parent / "golden"
RECORDINGS = sorted(p for p in GOLDEN.glob("*.jsonl") if not p.name.endswith(".expected.jsonl"))
_AUDIO_KEYS = ("delta", "data", "audio")
_B64 = re.compile(r"^[A-Za-z0-9+/=_-]{64,}$")


def _abbreviate(obj: Any) -> Any:
    """Replace long base64 payloads with ``<audio N bytes sha1:…>``."""
    if isinstance(obj, dict):
        return {k: (digest(v) if k in _AUDIO_KEYS and isinstance(v, str) and _B64.match(v) else _abbreviate(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_abbreviate(v) for v in obj]
    return obj


def replay(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    opts = lines.pop(0)["options"] if lines and "options" in lines[0] else {}
    d = Driver(**opts)
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines, start=1):
        if "client" in line:
            try:
                actions = d.t.inbound(Event.from_data(line["client"]))
            except ClientEventError as exc:
                out.append({"in": i, "client_error": exc.to_error()})
                continue
        elif "gemini" in line:
            validate_server_message(line["gemini"])
            actions = d.t.outbound(json.dumps(line["gemini"]).encode())
        elif "timer" in line:
            actions = d.t.inbound(TimerFired(line["timer"]))
        else:
            sig = line["signal"]
            frame = {"opened": UpstreamOpened(), "reconnected": Reconnected(),
                     "dropped": ConnectionDropped(line.get("code", 1006), line.get("reason", "")),
                     "lost": UpstreamLost(line.get("code", 1006), line.get("reason", ""))}[sig]
            actions = d.t.outbound(frame)
        for a in actions or []:
            if isinstance(a, ToClient):
                ev = event_dict(a.event)
                GA_SERVER.validate_python(ev)
                out.append({"in": i, "client": _abbreviate(ev)})
            elif isinstance(a, ToUpstream) and isinstance(a.frame, Reconnect):
                validate_client_message(a.frame.setup, d.platform)
                rc: dict[str, Any] = {"in": i, "reconnect": json.loads(a.frame.setup), "reason": a.frame.reason}
                if a.frame.replay:
                    rc["replay"] = [_abbreviate(validate_client_message(f, d.platform)) for f in a.frame.replay]
                out.append(rc)
            elif isinstance(a, ToUpstream):
                out.append({"in": i, "gemini": _abbreviate(validate_client_message(a.frame, d.platform))})
            elif isinstance(a, Schedule):
                out.append({"in": i, "timer": a.signal.name, "delay": a.delay})
            elif isinstance(a, Close):
                out.append({"in": i, "close": a.code, "reason": a.reason, "error": a.error})
    return out


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_golden_session(path: Path) -> None:
    got = replay(path)
    expected_path = path.with_name(path.stem + ".expected.jsonl")
    text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in got)
    if os.environ.get("RT_UPDATE_GOLDEN") == "1" or not expected_path.exists():
        expected_path.write_text(text)
        if os.environ.get("RT_UPDATE_GOLDEN") != "1":
            pytest.fail(f"wrote missing {expected_path.name}; review it and run again")
        return
    expected = [json.loads(line) for line in expected_path.read_text().splitlines() if line.strip()]
    assert len(got) == len(expected), f"{path.stem}: {len(got)} actions, expected {len(expected)}"
    for n, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"{path.stem}: action {n} (input line {g.get('in')}) differs"


def test_golden_recordings_exist() -> None:
    names = {p.stem for p in RECORDINGS}
    assert {"text", "audio_vad", "audio_vad_16k", "tools", "interruption", "manual_turns", "resumption",
            "format_switch"} <= names
