"""The gateway server: HTTP endpoints, the WebSocket handshake, and sessions.

Endpoints:

* ``GET /health/liveliness`` (and ``/health/liveness``), ``GET /health/readiness``
* ``GET /v1/models`` (and ``/models``): the realtime model names
* WebSocket ``/v1/realtime?model=NAME`` (also ``/realtime``,
  ``/openai/v1/realtime``) and Azure-style
  ``/openai/realtime?api-version=…&deployment=NAME`` (beta dialect when the
  api-version is a ``-preview`` one, as Azure's preview endpoints are).

Keys are read from ``Authorization: Bearer``, ``X-Serverless-Authorization:
Bearer``, the ``api-key`` header, the browser subprotocol
``openai-insecure-api-key.<key>`` or an ``api-key`` query parameter (Azure
browsers).  With a master key configured, a missing or wrong key is refused
at the handshake with HTTP 401 and a JSON body; an unknown model gets 404,
an upgrade RFC 6455 does not allow 400 or 426 (docs/design.md).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

from .config import Config
from .deployment import key_fingerprint
from .edge import ClientEdge
from .errors import http_error_body
from .eventlog import EventLogger
from .events import IdFactory
from .memory import release_memory
from .plugins import PluginHost
from .relay import ClientGone, Relay
from .wslib import ConnectionClosed, header_values, json_response
from .router import Router
from .session import ClientIdentity, Session

__all__ = ["Gateway", "REALTIME_PATHS"]

log = logging.getLogger(__name__)

REALTIME_PATHS = frozenset({"/v1/realtime", "/realtime", "/openai/v1/realtime", "/openai/realtime"})
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
KEY_SUBPROTOCOL_PREFIX = "openai-insecure-api-key."


@dataclass(frozen=True)
class HandshakeInfo:
    model: str
    dialect: str
    identity: ClientIdentity


class WebSocketClient:
    """:class:`~rt_core.relay.ClientChannel` over a WebSocket server connection."""

    __slots__ = ("ws", "direct")

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        #: The picows connection when it delivers by callback and writes without
        #: waiting (rt_core.wsdirect), else None.
        self.direct = ws if hasattr(ws, "deliver_to") else None

    async def recv(self) -> str | bytes:
        try:
            message: str | bytes = await self.ws.recv()
        except ConnectionClosed:
            raise ClientGone() from None
        return message

    async def send(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            raise ClientGone() from None

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)


def _header_tokens(headers: Any, name: str) -> set[str]:
    """The comma-separated tokens of a (possibly repeated) header, lower-cased."""
    return {t.strip().lower() for v in header_values(headers, name) for t in v.split(",") if t.strip()}


def _websocket_handshake_error(headers: Any) -> Any | None:
    """RFC 6455 section 4.2.1's checks of an upgrade request, answered in JSON
    (the WebSocket layer would refuse in plain text, or accept versions 7
    and 8); None when the request is a valid version-13 upgrade."""
    if "upgrade" not in _header_tokens(headers, "Connection"):
        return json_response(400, http_error_body(
            "A WebSocket upgrade needs the 'Connection: Upgrade' header.", "invalid_handshake"))
    version = (headers.get("Sec-WebSocket-Version") or "").strip()
    if version != "13":
        return json_response(426, http_error_body(
            f"Unsupported WebSocket version {version or 'none'}: this gateway speaks version 13 (RFC 6455).",
            "unsupported_websocket_version"), {"Sec-WebSocket-Version": "13"})
    key = (headers.get("Sec-WebSocket-Key") or "").strip()
    try:
        key_ok = len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        key_ok = False
    if not key_ok:
        return json_response(400, http_error_body(
            "Invalid Sec-WebSocket-Key: it must be 16 bytes in base64 (RFC 6455).", "invalid_handshake"))
    return None


def _subprotocols(headers: Any) -> list[str]:
    out: list[str] = []
    for value in header_values(headers, "Sec-WebSocket-Protocol"):
        out.extend(p.strip() for p in value.split(",") if p.strip())
    return out


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    parts = value.strip().split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1].strip()
    return None


def extract_key(headers: Any, query: dict[str, list[str]], subprotocols: list[str]) -> str | None:
    """The client's key, from wherever the client put it."""
    key = _bearer(headers.get("Authorization")) or _bearer(headers.get("X-Serverless-Authorization"))
    if key:
        return key
    key = headers.get("api-key")
    if key:
        return str(key).strip()
    for p in subprotocols:
        if p.startswith(KEY_SUBPROTOCOL_PREFIX):
            return p[len(KEY_SUBPROTOCOL_PREFIX) :]
    for name in ("api-key", "api_key"):
        if query.get(name):
            return query[name][0]
    return None


class Gateway:
    """Serves a :class:`~rt_core.config.Config` with the plugins of a host."""

    def __init__(self, config: Config, host: PluginHost) -> None:
        self.config = config
        self.host = host
        self.router = Router(config, host)
        self.logger = EventLogger.from_config(host, config)
        self.relays: set[Relay] = set()
        self.ready = False
        self.port: int | None = None
        self._master_key = config.gateway.master_key
        self._pending: dict[int, HandshakeInfo] = {}
        self._idle_timer: Any = None

    # ------------------------------------------------------------------ serving

    async def serve(self, host: str = "127.0.0.1", port: int = 4000, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; then close every session with code 1001."""
        from .wslib import serve

        limit = self.config.gateway.max_event_bytes
        async with serve(
            self._handler,
            host,
            port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            # Frames above max_event_bytes get an error event from the edge;
            # only frames beyond 4x that are refused by closing (1009).
            max_size=limit * 4,
            compression=None,
            ping_interval=20,
            ping_timeout=60,
            close_timeout=2,
            server_header="rt",
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self.ready = True
            task_status.started(self.port)
            try:
                await anyio.sleep_forever()
            finally:
                self.ready = False
                with anyio.CancelScope(shield=True):
                    await self._shutdown(server)

    async def _shutdown(self, server: Any) -> None:
        server.close(close_connections=False)
        if self.relays:
            log.info("shutting down: closing %d open session(s)", len(self.relays))
            with anyio.move_on_after(self.config.gateway.shutdown_grace):
                async with anyio.create_task_group() as tg:
                    for relay in list(self.relays):
                        tg.start_soon(relay.shutdown)
            with anyio.move_on_after(self.config.gateway.shutdown_grace):
                while self.relays:
                    await anyio.sleep(0.02)
        server.close(close_connections=True)
        with anyio.move_on_after(2):
            await server.wait_closed()
        # Write what the log sinks still hold (bounded; off the event loop).
        await anyio.to_thread.run_sync(self.logger.close, 3.0)

    # ------------------------------------------------------------------ HTTP

    def _process_request(self, connection: Any, request: Any) -> Any:
        parts = urlsplit(request.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query)
        headers = request.headers
        upgrade = "websocket" in headers.get("Upgrade", "").lower()
        if path in REALTIME_PATHS:
            return self._realtime_handshake(request, path, query, headers, upgrade)
        if upgrade:
            return json_response(404, http_error_body(f"No WebSocket endpoint at {path}; use /v1/realtime?model=NAME.", "not_found"))
        if path in ("/health/liveliness", "/health/liveness", "/health"):
            return json_response(200, {"status": "healthy"})
        if path == "/health/readiness":
            if self.ready:
                return json_response(200, {"status": "healthy", "models": self.config.model_names,
                                             "sessions": len(self.relays), "logging": self.logger.stats(),
                                             "deployments": self.router.health.snapshot()})
            return json_response(503, {"status": "starting"})
        if path in ("/v1/models", "/models"):
            if self._master_key and not self._key_ok(extract_key(headers, query, [])):
                return json_response(401, http_error_body("Missing or invalid API key.", "invalid_api_key"))
            return json_response(200, {"object": "list", "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "rt",
                 "providers": sorted({d.provider for d in deps})}
                for name, deps in self.config.groups.items()
            ]})
        return json_response(404, http_error_body(f"Not found: {path}", "not_found"))

    def _key_ok(self, key: str | None) -> bool:
        return key is not None and self._master_key is not None and hmac.compare_digest(
            key.encode(), self._master_key.encode()
        )

    def _realtime_handshake(self, request: Any, path: str, query: dict[str, list[str]], headers: Any, upgrade: bool) -> Any:
        if not upgrade:
            return json_response(426, http_error_body("This endpoint needs a WebSocket upgrade.", "upgrade_required"))
        refusal = _websocket_handshake_error(headers)
        if refusal is not None:
            return refusal
        subprotocols = _subprotocols(headers)
        key = extract_key(headers, query, subprotocols)
        if self._master_key:
            if key is None:
                return json_response(401, http_error_body(
                    "Missing API key: send 'Authorization: Bearer <key>', an 'api-key' header, or the "
                    "'openai-insecure-api-key.<key>' subprotocol.", "missing_api_key"))
            if not self._key_ok(key):
                return json_response(401, http_error_body("Invalid API key.", "invalid_api_key"))
            identity = ClientIdentity("master-key", key_fingerprint(key))
        else:
            identity = ClientIdentity(key_fingerprint(key) if key else "anonymous", key_fingerprint(key) if key else None)
        model = (query.get("model") or query.get("deployment") or [""])[0]
        if not model:
            return json_response(400, http_error_body(
                "Missing 'model' query parameter: connect to /v1/realtime?model=NAME.", "missing_model", param="model"))
        if not self.router.has_model(model):
            return json_response(404, http_error_body(
                f"The model {model!r} does not exist on this gateway. Available: {', '.join(self.config.model_names) or 'none'}.",
                "model_not_found", param="model"))
        api_version = (query.get("api-version") or [""])[0]
        beta = (
            "realtime=v1" in headers.get("OpenAI-Beta", "").replace(" ", "").lower()
            or BETA_SUBPROTOCOL in subprotocols
            # Azure preview API versions speak the beta dialect; the GA Azure
            # SDK client uses the same path with a GA api-version.
            or (path == "/openai/realtime" and api_version.endswith("-preview"))
        )
        # Keyed by the request object, which both WebSocket implementations
        # hand to the connection handler as ``ws.request``.
        self._pending[id(request)] = HandshakeInfo(model, "beta" if beta else "ga", identity)
        return None

    @staticmethod
    def _select_subprotocol(connection: Any, subprotocols: Any) -> str | None:
        offered: list[str] = [str(p) for p in subprotocols]
        if not offered:
            return None
        for choice in ("realtime", BETA_SUBPROTOCOL):
            if choice in offered:
                return choice
        plain = [p for p in offered if not p.startswith(KEY_SUBPROTOCOL_PREFIX)]
        return plain[0] if plain else offered[0]

    # ------------------------------------------------------------------ sessions

    async def _handler(self, ws: Any) -> None:
        info = self._pending.pop(id(ws.request), None)
        if info is None:  # process_request always records; be defensive
            await ws.close(1011, "handshake state lost")
            return
        sid = "sess_" + os.urandom(8).hex()
        ids = IdFactory()
        session = Session(
            id=sid,
            model=info.model,
            dialect=info.dialect,
            client=info.identity,
            ids=ids,
            options=dict(self.config.litellm_settings),
        )
        edge = ClientEdge(info.dialect, max_event_bytes=self.config.gateway.max_event_bytes, ids=ids, session_id=sid)
        relay = Relay(session, WebSocketClient(ws), edge, self.host, self.router, self.logger)
        self.relays.add(relay)
        try:
            await relay.run()
        finally:
            self.relays.discard(relay)
            if not self.relays:
                self._schedule_idle_release()

    def _schedule_idle_release(self, delay: float = 2.0) -> None:
        """Once no session has been open for ``delay`` s, return memory to the OS."""
        import asyncio

        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(delay, self._idle_release)

    def _idle_release(self) -> None:
        self._idle_timer = None
        if not self.relays:
            release_memory()
