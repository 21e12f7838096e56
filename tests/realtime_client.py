"""Client-side helpers for end-to-end tests: read and validate server events.

Every event a test client receives is validated against the openai SDK's
server-event union for the client's dialect, so a GA client that received a
beta event name (or the reverse) fails the test.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import anyio
from pydantic import TypeAdapter

from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent

GA_SERVER = TypeAdapter(GAServerEvent)
BETA_SERVER = TypeAdapter(BetaServerEvent)


def validate_server_event(data: dict[str, Any], dialect: str) -> None:
    adapter = BETA_SERVER if dialect == "beta" else GA_SERVER
    try:
        adapter.validate_python(data)
    except Exception as exc:  # pragma: no cover - failure path shows the event
        raise AssertionError(f"{dialect} client received an invalid {data.get('type')!r} event: "
                             f"{json.dumps(data)[:600]}\n{str(exc)[:1500]}") from None


async def next_event(conn: Any, dialect: str, timeout: float = 5.0) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        raw = await conn.recv_bytes()
    data = json.loads(raw)
    validate_server_event(data, dialect)
    return data


async def collect_until(conn: Any, dialect: str, stop: str = "response.done", timeout: float = 10.0,
                        into: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [] if into is None else into
    with anyio.fail_after(timeout):
        while True:
            ev = await next_event(conn, dialect, timeout)
            events.append(ev)
            if ev["type"] == stop:
                return events


def pcm16_tone(ms: int, hz: float = 440.0, rate: int = 24000, amp: int = 8000) -> bytes:
    n = rate * ms // 1000
    return b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def openai_config(api_base: str, *, model_name: str = "gpt-realtime", protocol: str | None = None,
                  key: str = "sk-upstream", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"model": "openai/gpt-realtime", "api_key": key, "api_base": api_base}
    if protocol:
        params["realtime_protocol"] = protocol
    return {"model_list": [{"model_name": model_name, "litellm_params": params}], **extra}
