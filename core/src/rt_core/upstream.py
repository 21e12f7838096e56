"""The upstream seam: what a provider connection looks like to the core.

The core only ever sees an :class:`Upstream` -- ``open`` / ``send`` /
``receive`` / ``aclose`` -- whatever carries it (a WebSocket for OpenAI, Azure,
xAI and Gemini; an HTTP/2 event stream for Bedrock).  All WebSocket-library
code for upstreams lives in :class:`WebSocketUpstream`, so another transport
can replace it without touching sessions or translators (httpx's transport
seam is the model).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode, urlsplit, urlunsplit

from .errors import UpstreamClosed, UpstreamConnectError

__all__ = ["Upstream", "WebSocketUpstream", "websocket_url"]

log = logging.getLogger(__name__)


@runtime_checkable
class Upstream(Protocol):
    """One connection to a provider, opened and closed by the core.

    ``receive`` raises :class:`~rt_core.UpstreamClosed` when the connection
    ends; ``open`` raises :class:`~rt_core.UpstreamConnectError`.  ``send``
    and ``receive`` are called from two different tasks concurrently.

    Optional, found by name (docs/hooks.md): ``send_now``, ``writable``,
    ``write_paused`` and ``direct`` let the relay write without waiting and
    take frames in the socket's callback; :class:`WebSocketUpstream` has them.
    """

    async def open(self) -> None: ...

    async def send(self, frame: Any) -> None: ...

    async def receive(self) -> Any: ...

    async def aclose(self, code: int = 1000, reason: str = "") -> None: ...


def websocket_url(base: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """Join a LiteLLM-style ``api_base`` and a WebSocket path.

    ``http``→``ws`` and ``https``→``wss``; ``ws``/``wss`` are kept; a bare host
    gets ``wss``.  ``path`` is appended unless ``base`` already ends with it
    (users write both ``https://host`` and ``https://host/v1``: pass the path
    relative to what they may have written, see the callers).
    """
    if "://" not in base:
        base = "wss://" + base
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} (use http, https, ws or wss)")
    base_path = parts.path.rstrip("/")
    if not base_path.endswith(path.rstrip("/")):
        base_path = base_path + "/" + path.lstrip("/")
    q = parts.query
    if query:
        extra = urlencode(query)
        q = f"{q}&{extra}" if q else extra
    return urlunsplit((scheme, parts.netloc, base_path, q, ""))


def _status_message(status: int, body: bytes | None) -> str:
    """Pull a readable message out of an HTTP error body (JSON or text)."""
    text = (body or b"").decode("utf-8", "replace").strip()
    if text:
        try:
            data = json.loads(text)
        except ValueError:
            return text[:500]
        err = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(err, dict):
            msg = str(err.get("message") or err.get("msg") or json.dumps(err)[:500])
            code = err.get("code")
            if isinstance(code, str) and code and code not in msg:
                msg = f"{code}: {msg}"
            return msg
        if isinstance(err, str):
            return err
        return text[:500]
    return f"HTTP {status}"


def _request_id(headers: Any) -> str | None:
    """The provider's request id of a refused handshake, for support tickets."""
    try:
        for name in ("apim-request-id", "x-request-id", "x-ms-request-id"):
            value = headers.get(name)
            if value:
                return str(value)[:100]
    except Exception:
        return None
    return None


class WebSocketUpstream:
    """An :class:`Upstream` over a WebSocket (the ``websockets`` library).

    :param url: ``ws://`` or ``wss://`` URL.
    :param headers: handshake headers (auth goes here, never in logs).
    :param subprotocols: offered subprotocols, if any.
    :param ping_interval: keepalive pings; ``ping_timeout=None`` tolerates
        providers whose pongs arrive late (Gemini).
    :param name: a label for error messages (never contains a secret).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 60.0,
        name: str = "upstream",
        ssl: Any = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.subprotocols = list(subprotocols) if subprotocols else None
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.name = name
        self.ssl = ssl
        self._ws: Any = None
        # Found once at open, as they are on every frame's path: the open connection
        # when it is a rt_core.wsdirect one, and its send_now when this class may use it.
        self._direct_conn: Any = None
        self._write_now: Any = None

    @property
    def safe_url(self) -> str:
        """The URL without its query string (which may carry a key)."""
        p = urlsplit(self.url)
        return urlunsplit((p.scheme, p.netloc, p.path, "", ""))

    async def open(self) -> None:
        from .wslib import InvalidHandshake, InvalidStatus, InvalidURI, connect

        kwargs: dict[str, Any] = {}
        if self.ssl is not None and self.url.startswith("wss:"):
            kwargs["ssl"] = self.ssl
        try:
            self._ws = await connect(
                self.url,
                additional_headers=self.headers,
                subprotocols=self.subprotocols,
                max_size=None,
                compression=None,
                open_timeout=None,  # the core's cancel scope bounds the open
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                close_timeout=2,
                user_agent_header="rt-gateway",
                **kwargs,
            )
            conn = self._direct_conn = self._ws if hasattr(self._ws, "deliver_to") else None
            self._write_now = conn.send_now if conn is not None and self._sends_plainly() else None
        except InvalidStatus as exc:
            status = exc.response.status_code
            # picows keeps the refusal's body on the underlying error.
            body = exc.response.body or getattr(exc.__cause__, "raw_body", None)
            msg = _status_message(status, body)
            request_id = _request_id(exc.response.headers)
            if request_id:
                msg = f"{msg} (request id {request_id})"
            raise UpstreamConnectError(
                f"{self.name} refused the WebSocket handshake at {self.safe_url}: HTTP {status}: {msg}",
                status=status,
            ) from None
        except InvalidURI as exc:
            # Specific to this deployment: another one may still work.
            raise UpstreamConnectError(f"{self.name}: invalid upstream URL: {exc}") from None
        except (InvalidHandshake, OSError, EOFError) as exc:
            raise UpstreamConnectError(
                f"{self.name} could not be reached at {self.safe_url}: {type(exc).__name__}: {exc}"
            ) from None

    def _sends_plainly(self) -> bool:
        return type(self).send is WebSocketUpstream.send

    @property
    def direct(self) -> Any:
        """The connection when it can deliver frames by callback (:mod:`rt_core.wsdirect`)
        and this class's own ``send``/``receive`` are in use, else None."""
        if not self._sends_plainly() or type(self).receive is not WebSocketUpstream.receive:
            return None
        return self._direct_conn

    @property
    def immediate_write(self) -> Callable[[Any], bool] | None:
        """What :meth:`send_now` calls (the connection's own immediate write),
        or None when it cannot write without waiting: for a wrapper that keeps
        it instead of calling :meth:`send_now` on every frame (rt-gemini's
        upstream, whose socket changes)."""
        write_now: Callable[[Any], bool] | None = self._write_now
        return write_now

    def send_now(self, frame: Any) -> bool:
        """Write ``frame`` without waiting; False when that is not possible (then ``send``)."""
        write_now = self._write_now
        return write_now is not None and write_now(frame)

    @property
    def write_paused(self) -> bool:
        """True while the socket's write buffer is over its high water mark."""
        conn = self._direct_conn
        return conn is not None and conn.write_paused

    async def writable(self) -> None:
        """Return once the socket's write buffer has room."""
        conn = self._direct_conn
        if conn is not None:
            await conn.writable()

    def received_close(self) -> tuple[int, str] | None:
        """The provider's close frame (code, reason), if one arrived."""
        conn = self._direct_conn
        return conn.received_close() if conn is not None else None

    async def send(self, frame: Any) -> None:
        from .wslib import ConnectionClosed

        try:
            await self._ws.send(frame)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def receive(self) -> Any:
        from .wslib import ConnectionClosed

        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        ws = self._ws
        if ws is not None:
            try:
                await ws.close(code, reason[:120])
            except Exception:  # closing is best effort; the socket may be gone already
                log.debug("error while closing %s", self.name, exc_info=True)


def _closed(exc: Any) -> UpstreamClosed:
    rcvd = exc.rcvd
    if rcvd is not None:
        return UpstreamClosed(rcvd.code, rcvd.reason)
    return UpstreamClosed(1006, "connection lost without a close frame")
