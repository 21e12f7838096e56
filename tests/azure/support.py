"""Helpers for the Azure tests: receive SDK events raw and validate each one.

The openai SDK parses received events without validating them, so every
frame is read raw (``recv_bytes``) and checked against the SDK's server-event
union of the client's dialect; unknown top-level keys fail too (the SDK
models allow extras, which would hide a leak of provider-only fields).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
from pydantic import TypeAdapter

from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent

SERVER_UNION = {"ga": TypeAdapter(GAServerEvent), "beta": TypeAdapter(BetaServerEvent)}

#: Top-level keys the GA/beta ``response.function_call_arguments.done`` may carry
#: beyond the beta SDK model (GA adds ``name``; rt keeps it for beta clients).
ALLOWED_EXTRAS = {"response.function_call_arguments.done": {"name"}}


def gateway(config: Mapping[str, Any], plugins: Mapping[str, object]) -> AbstractAsyncContextManager[Any]:
    """The in-process gateway with exactly ``plugins`` registered (no entry-point
    autoload, so other packages' plugins -- installed or half-installed --
    cannot change what a test exercises)."""
    from tests.harness import running_gateway

    return running_gateway(config, env={"RT_DISABLE_PLUGIN_AUTOLOAD": "1"}, plugins=plugins)


def validate(data: dict[str, Any], dialect: str) -> Any:
    """Validate one server event; return the parsed SDK model."""
    model = SERVER_UNION[dialect].validate_python(data)
    extra = set(model.model_extra or {}) - ALLOWED_EXTRAS.get(data.get("type", ""), set())
    assert not extra, f"{data.get('type')}: unexpected top-level keys {sorted(extra)}"
    return model


async def recv_valid(conn: Any, dialect: str, timeout: float = 5.0) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        raw = await conn.recv_bytes()
    data = json.loads(raw)
    validate(data, dialect)
    return data


async def recv_until(conn: Any, dialect: str, stop: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Receive (and validate) events up to and including the first of type ``stop``."""
    out: list[dict[str, Any]] = []
    with anyio.fail_after(timeout):
        while True:
            ev = await recv_valid(conn, dialect)
            out.append(ev)
            if ev["type"] == stop:
                return out


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]
