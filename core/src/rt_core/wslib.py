"""The WebSocket library seam: which implementation carries rt's sockets.

rt uses the ``websockets`` asyncio API.  ``picows`` (a Cython WebSocket
implementation) ships the same API as ``picows.websockets``; measured on the
same load it costs about half the CPU per frame (see docs/performance.md), so
rt uses it when it is installed (``pip install rt-core[fast]``) and falls back
to ``websockets`` otherwise.  ``RT_WS=websockets`` or ``RT_WS=picows`` forces
a choice.  On picows the connections also deliver messages by callback and
send without awaiting (:mod:`rt_core.wsdirect`), which the relay uses when
both sides of a session support it.  Nothing outside this module (and
``wsdirect``) imports either library's server or client API.
"""

from __future__ import annotations

import json
import os
from http import HTTPStatus
from typing import Any

__all__ = ["IMPL", "serve", "connect", "ConnectionClosed", "InvalidStatus", "InvalidURI", "InvalidHandshake",
           "json_response", "header_values"]


def _choose() -> str:
    want = os.environ.get("RT_WS", "auto").strip().lower()
    if want in ("auto", "picows"):
        try:
            import picows.websockets  # noqa: F401
        except ImportError:
            if want == "picows":
                raise
            return "websockets"
        return "picows"
    return "websockets"


IMPL = _choose()

if IMPL == "picows":
    from multidict import CIMultiDict as _Headers
    from picows.websockets import (
        ConnectionClosed,
        InvalidHandshake,
        InvalidStatus,
        InvalidURI,
        Response,
    )

    # Same API, plus callback delivery for the relay's hot path (wsdirect).
    from .wsdirect import connect, serve
else:
    from websockets.asyncio.client import connect  # type: ignore[assignment]
    from websockets.asyncio.server import serve  # type: ignore[assignment]
    from websockets.datastructures import Headers as _Headers  # type: ignore[assignment]
    from websockets.exceptions import (  # type: ignore[assignment]
        ConnectionClosed,
        InvalidHandshake,
        InvalidStatus,
        InvalidURI,
    )
    from websockets.http11 import Response  # type: ignore[assignment]


def json_response(status: int, body: dict[str, Any], extra_headers: dict[str, str] | None = None) -> Any:
    """An HTTP response with a JSON body (handshake refusals, health, models)."""
    data = json.dumps(body).encode()
    items = [("Content-Type", "application/json"), ("Connection", "close"), ("Server", "rt")]
    items.extend((extra_headers or {}).items())
    if IMPL == "websockets":  # picows adds Content-Length itself
        items.append(("Content-Length", str(len(data))))
    headers = _Headers(items)
    return Response(status, HTTPStatus(status).phrase, headers, data)


def header_values(headers: Any, name: str) -> list[str]:
    """Every value of a (possibly repeated) request header."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    return list(headers.get_all(name))
