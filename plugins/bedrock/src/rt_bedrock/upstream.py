"""The Nova Sonic connection behind the core's :class:`~rt_core.Upstream` seam.

Bedrock's ``InvokeModelWithBidirectionalStream`` is one HTTP/2 request whose
body and response are AWS event streams, every input event SigV4-signed.  The
official ``aws-sdk-bedrock-runtime`` does the framing and signing; its CRT
transport (``smithy_http.aio.crt.AWSCRTHTTPClient``) is the one that streams
both ways at once over HTTP/2 (the default aiohttp transport cannot, and CRT on
cleartext HTTP/1.1 buffers the whole body: see docs/providers/bedrock.md).

One :class:`NovaUpstream` serves one rt session and may run several SDK
streams in turn (generation 0, 1, …) because a Nova stream lives about 8
minutes.  The translator drives that with the objects of
:mod:`rt_bedrock.control`; this class only does I/O:

* ``send(Frame)`` writes one Nova event to the stream of that generation
  (held back until the stream is promoted when it is the next one);
* ``send(OpenStream)`` opens the next stream in the background;
* ``send(PromoteStream)`` seeds it, makes it current and closes the old one in
  the background;
* ``receive()`` returns the next Nova event (JSON ``bytes``) of the current
  stream, or a stream signal (opened, failed, error, ended).

Background work (readers, openers, closers) runs in tasks this object owns and
cancels/awaits in :meth:`aclose`: the SDK itself is asyncio-only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rt_core import UpstreamClosed, UpstreamConnectError

from .control import (
    DropStream,
    Frame,
    NovaError,
    OpenStream,
    PromoteStream,
    StreamEnded,
    StreamError,
    StreamFailed,
    StreamOpened,
)
from .provider import DEFAULT_REGION, BedrockSettings

__all__ = ["NovaUpstream", "nova_error"]

log = logging.getLogger(__name__)

_INBOX_SIZE = 256
_CLOSE_GRACE_S = 2.0
#: Errors after which another deployment will not do better.
_NOT_RETRYABLE = frozenset({"ValidationException", "AccessDeniedException", "ResourceNotFoundException",
                            "ConfigurationError"})


def nova_error(exc: BaseException) -> NovaError:
    """Reduce an SDK, smithy or CRT exception to a :class:`NovaError`."""
    name = type(exc).__name__
    if name == "SmithyError" and exc.__cause__ is not None:
        exc = exc.__cause__  # the SDK wraps transport failures
        name = type(exc).__name__
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc)
    if name == "AwsCrtError":
        return NovaError("TransportError", f"{getattr(exc, 'name', '')}: {message}".strip(": "))
    if isinstance(exc, (OSError, EOFError, ConnectionError)) or name in ("ClientTimeoutError", "SmithyHTTPError"):
        cause = exc.__cause__
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        return NovaError("TransportError", f"{message}{detail}")
    if name.endswith("Exception"):
        return NovaError(name, message)
    return NovaError(name, message)


_quieted: "weakref.WeakSet[asyncio.Task[Any]]" = weakref.WeakSet()


def _quiet_crt_body_writers() -> None:
    """Retrieve the error of awscrt's request-body writer tasks.

    awscrt 0.32 writes the end of the request body in a ``finally`` of a task
    it never awaits; when the service has already completed the HTTP/2 stream
    (an error answered at connect, a stream the service ended) that write
    raises ``AWS_ERROR_HTTP_STREAM_HAS_COMPLETED`` and asyncio logs "Task
    exception was never retrieved".  Nothing is lost, so the error is taken
    here (debug-logged) instead of surfacing as noise.
    """
    for task in asyncio.all_tasks():
        if task in _quieted:
            continue
        coro = task.get_coro()
        if getattr(coro, "__qualname__", "").endswith("_set_request_body_generator"):
            _quieted.add(task)
            task.add_done_callback(_consume_quietly)


def _consume_quietly(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("awscrt body writer ended: %r", task.exception())


class _SharedCrtLoop:
    """One CRT event-loop group for every client of the process (the SDK
    would start a native I/O thread per client otherwise)."""

    _bootstrap: Any = None

    @property
    def bootstrap(self) -> Any:
        if _SharedCrtLoop._bootstrap is None:
            from awscrt import io as crt_io

            _SharedCrtLoop._bootstrap = crt_io.ClientBootstrap.get_or_create_static_default()
        return _SharedCrtLoop._bootstrap


def _make_transport(ca_file: str | None) -> Any:
    """The CRT HTTP client; with ``ca_file`` it also trusts that CA (tests).

    smithy-python exposes no TLS option, so a subclass builds the TLS context
    itself; ``__deepcopy__`` is overridden because the SDK deep-copies its
    config (and with it the transport) when a client is set up.
    """
    from smithy_http.aio.crt import AWSCRTHTTPClient

    if ca_file is None:
        return AWSCRTHTTPClient(eventloop=_SharedCrtLoop())  # type: ignore[arg-type]

    from awscrt import io as crt_io

    class _TrustingCRTClient(AWSCRTHTTPClient):
        def __init__(self, ca: str, eventloop: Any = None, client_config: Any = None) -> None:
            super().__init__(eventloop=eventloop or _SharedCrtLoop(), client_config=client_config)  # type: ignore[arg-type]
            self._rt_ca_file = ca
            opts = crt_io.TlsContextOptions()
            opts.override_default_trust_store_from_path(None, ca)
            self._tls_ctx = crt_io.ClientTlsContext(opts)

        def __deepcopy__(self, memo: Any) -> _TrustingCRTClient:
            return _TrustingCRTClient(self._rt_ca_file, self._eventloop, self._config)

    return _TrustingCRTClient(ca_file)


@dataclass(eq=False)
class _Stream:
    gen: int
    duplex: Any
    output: asyncio.Task[Any]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: asyncio.Task[None] | None = None
    dead: bool = False
    closing: bool = False


@dataclass(frozen=True, slots=True)
class _Died:
    error: NovaError | None


class NovaUpstream:
    """An rt :class:`~rt_core.Upstream` over Bedrock Nova Sonic streams.

    :param settings: the deployment settings.
    :param model_id: Bedrock model id.
    :param first_events: events sent on stream 0 as soon as it is opened
        (``sessionStart``).
    :param closing_events: called at :meth:`aclose` for the events that end
        the current stream politely (audio ``contentEnd``, ``promptEnd``,
        ``sessionEnd``).
    :param label: for messages (never contains a secret).
    """

    def __init__(
        self,
        settings: BedrockSettings,
        model_id: str,
        *,
        first_events: Sequence[str] = (),
        closing_events: Callable[[], Sequence[str]] | None = None,
        label: str = "bedrock",
    ) -> None:
        self.settings = settings
        self.model_id = model_id
        self.first_events = list(first_events)
        self.closing_events = closing_events
        self.label = label
        self._client: Any = None
        self._streams: dict[int, _Stream] = {}
        self._current = 0
        self._backlog: dict[int, list[str]] = {}
        self._inbox: asyncio.Queue[tuple[int, Any]] = asyncio.Queue(_INBOX_SIZE)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._models: Any = None

    # ------------------------------------------------------------------ Upstream API

    async def open(self) -> None:
        try:
            self._client = await self._make_client()
        except UpstreamConnectError:
            raise
        except Exception as exc:
            raise UpstreamConnectError(
                f"{self.label}: could not configure the Bedrock client: {type(exc).__name__}: {exc}",
                retryable=False,
            ) from None
        try:
            stream = await self._invoke(0)
            for text in self.first_events:
                await self._write(stream, text)
            await self._handshake(stream)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            err = exc.error if isinstance(exc, _Failed) else nova_error(exc)
            raise UpstreamConnectError(
                f"{self.label} could not open a Nova Sonic stream: {err.kind}: {err.message}",
                status=err.status,
                retryable=err.kind not in _NOT_RETRYABLE,
            ) from None
        self._start_reader(stream)

    async def send(self, frame: Any) -> None:
        if self._closed:
            raise UpstreamClosed(1000, "closed")
        kind = type(frame)
        if kind is Frame:
            await self._send_frame(frame.gen, frame.text)
        elif isinstance(frame, (str, bytes)):
            await self._send_frame(self._current, frame if isinstance(frame, str) else frame.decode())
        elif kind is OpenStream:
            self._spawn(self._open_next(frame))
        elif kind is PromoteStream:
            await self._promote(frame)
        elif kind is DropStream:
            s = self._streams.get(frame.gen)
            if s is not None:
                self._spawn(self._close_stream(s, frame.close_events))
        else:
            raise TypeError(f"NovaUpstream cannot send {frame!r}")

    async def receive(self) -> Any:
        while True:
            if self._closed:
                raise UpstreamClosed(1000, "closed")
            gen, item = await self._inbox.get()
            if type(item) is bytes:
                if gen == self._current:
                    return item
                continue  # from a stream being opened or already replaced
            if isinstance(item, _Died):
                s = self._streams.get(gen)
                if s is not None:
                    s.dead = True
                if gen == self._current:
                    if item.error is None:
                        return StreamEnded(gen)
                    return StreamError(gen, item.error)
                if gen > self._current and s is not None and not s.closing:
                    return StreamFailed(gen, item.error or NovaError("TransportError", "the stream ended before use"))
                continue
            return item  # StreamOpened / StreamFailed from an opener

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        current = self._streams.get(self._current)
        events: Sequence[str] = ()
        if current is not None and not current.dead and self.closing_events is not None:
            try:
                events = self.closing_events()
            except Exception:  # the translator's state is best effort here
                events = ()
        try:
            await asyncio.wait_for(self._shutdown(current, events), 0.6)
        except (TimeoutError, asyncio.TimeoutError):
            log.debug("%s: closing the Nova streams timed out", self.label)
        finally:
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=0.3)
            # Wake a receive() that is waiting.
            try:
                self._inbox.put_nowait((-1, _Died(None)))
            except asyncio.QueueFull:
                pass

    # ------------------------------------------------------------------ client & streams

    async def _make_client(self) -> Any:
        from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
        from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig

        s = self.settings
        kwargs: dict[str, Any] = {"transport": _make_transport(s.tls_ca_file)}
        region = s.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        kwargs["region"] = region
        if s.api_base:
            kwargs["endpoint_uri"] = s.api_base.rstrip("/")
        if s.aws_access_key_id is not None and s.aws_secret_access_key is not None:
            from smithy_aws_core.identity import AWSCredentialsIdentity
            from smithy_aws_core.identity.static import StaticCredentialsResolver

            kwargs["aws_credentials_identity_resolver"] = StaticCredentialsResolver(AWSCredentialsIdentity(
                access_key_id=s.aws_access_key_id.get_secret_value(),
                secret_access_key=s.aws_secret_access_key.get_secret_value(),
                session_token=s.aws_session_token.get_secret_value() if s.aws_session_token else None,
            ))
        config = await AsyncBedrockRuntimeConfig.resolve(**kwargs)
        return AsyncBedrockRuntimeClient(config=config)

    async def _invoke(self, gen: int) -> _Stream:
        from aws_sdk_bedrock_runtime.models import InvokeModelWithBidirectionalStreamOperationInput

        duplex = await self._client.invoke_model_with_bidirectional_stream(
            InvokeModelWithBidirectionalStreamOperationInput(model_id=self.model_id)
        )
        output = asyncio.ensure_future(duplex.await_output())
        self._tasks.add(output)
        output.add_done_callback(self._tasks.discard)
        stream = _Stream(gen, duplex, output)
        self._streams[gen] = stream
        return stream

    async def _handshake(self, stream: _Stream) -> None:
        """Wait (bounded) for the response headers: connect-time errors
        (throttling, access denied, unknown model) arrive there."""
        timeout = self.settings.handshake_timeout_s
        if timeout <= 0:
            return
        done, _ = await asyncio.wait({stream.output}, timeout=timeout)
        _quiet_crt_body_writers()
        if done:
            exc = stream.output.exception()
            if exc is not None:
                raise _Failed(nova_error(exc))

    async def _write(self, stream: _Stream, text: str) -> None:
        from aws_sdk_bedrock_runtime.models import (
            BidirectionalInputPayloadPart,
            InvokeModelWithBidirectionalStreamInputChunk,
        )

        await stream.duplex.input_stream.send(
            InvokeModelWithBidirectionalStreamInputChunk(value=BidirectionalInputPayloadPart(bytes_=text.encode()))
        )

    async def _send_frame(self, gen: int, text: str) -> None:
        current = self._current
        if gen > current:
            # Emitted for a stream the translator has promoted, before the
            # promotion itself reached us (actions come from several tasks).
            self._backlog.setdefault(gen, []).append(text)
            return
        s = self._streams.get(gen)
        if s is None or s.dead or (gen != current and s.closing):
            return  # its stream is gone; the translator replays what matters
        async with s.lock:
            await self._write_safely(s, text)

    async def _write_safely(self, s: _Stream, text: str) -> None:
        try:
            await self._write(s, text)
        except Exception as exc:
            # The reader sees the failure too and reports it to the translator.
            log.debug("%s: write to stream %d failed: %r", self.label, s.gen, exc)
            s.dead = True

    def _start_reader(self, stream: _Stream) -> None:
        stream.reader = self._spawn(self._read(stream))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read(self, stream: _Stream) -> None:
        gen = stream.gen
        try:
            _, receiver = await stream.output
            while True:
                event = await receiver.receive()
                if event is None:
                    await self._inbox.put((gen, _Died(None)))
                    return
                payload = getattr(getattr(event, "value", None), "bytes_", None)
                if payload:
                    await self._inbox.put((gen, bytes(payload)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _quiet_crt_body_writers()
            err = nova_error(exc)
            if not stream.closing:
                log.info("%s: Nova stream %d failed: %s: %s", self.label, gen, err.kind, err.message)
            await self._inbox.put((gen, _Died(err)))

    async def _open_next(self, req: OpenStream) -> None:
        try:
            stream = await self._invoke(req.gen)
            for text in req.events:
                await self._write(stream, text)
            await self._handshake(stream)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            err = exc.error if isinstance(exc, _Failed) else nova_error(exc)
            log.info("%s: opening Nova stream %d failed: %s: %s", self.label, req.gen, err.kind, err.message)
            s = self._streams.pop(req.gen, None)
            if s is not None:
                self._spawn(self._close_stream(s, ()))
            await self._inbox.put((req.gen, StreamFailed(req.gen, err)))
            return
        self._start_reader(stream)
        await self._inbox.put((req.gen, StreamOpened(req.gen)))

    async def _promote(self, req: PromoteStream) -> None:
        new = self._streams.get(req.gen)
        if new is None or new.dead:
            await self._inbox.put((req.gen, _Died(NovaError("TransportError", "the next stream is not open"))))
            self._current = req.gen
            return
        async with new.lock:  # taken at once: nobody else writes to it yet
            old = self._streams.get(self._current)
            self._current = req.gen
            for text in req.events:
                await self._write_safely(new, text)
            for text in self._backlog.pop(req.gen, ()):
                await self._write_safely(new, text)
        if old is not None and old is not new:
            self._spawn(self._close_stream(old, req.close_events))

    async def _close_stream(self, s: _Stream, events: Sequence[str]) -> None:
        """End a stream politely (closing events, end of input), then drop it."""
        s.closing = True
        _quiet_crt_body_writers()
        try:
            if not s.dead:
                async with s.lock:
                    for text in events:
                        await self._write_safely(s, text)
            try:
                await asyncio.wait_for(s.duplex.input_stream.close(), 1.0)
            except Exception:
                pass
            if s.reader is not None:
                await asyncio.wait({s.reader}, timeout=_CLOSE_GRACE_S)
        finally:
            if s.reader is not None and not s.reader.done():
                s.reader.cancel()
            if not s.output.done():
                s.output.cancel()
            self._streams.pop(s.gen, None)

    async def _shutdown(self, current: _Stream | None, events: Sequence[str]) -> None:
        _quiet_crt_body_writers()
        if current is not None and not current.dead:
            for text in events:
                await self._write_safely(current, text)
            try:
                await current.duplex.input_stream.close()
            except Exception:
                pass
            if current.reader is not None:
                # Let the service finish the response before the connection goes.
                await asyncio.wait({current.reader}, timeout=0.5)
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.close()
            except Exception:
                log.debug("%s: closing the Bedrock client failed", self.label, exc_info=True)


class _Failed(Exception):
    def __init__(self, error: NovaError) -> None:
        super().__init__(error.message)
        self.error = error
