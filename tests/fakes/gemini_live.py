"""A fake Gemini Live server on loopback, speaking the real ``BidiGenerateContent`` protocol.

What it does the way Google's service does it:

* routes ``/ws/google.ai.generativelanguage.{v1,v1beta,v1alpha}.GenerativeService.BidiGenerateContent``
  (and the Vertex path when configured), checks the ``x-goog-api-key`` header
  (or a Bearer token for Vertex), and reports errors as **close codes**
  (1007 invalid argument, 1008 auth) rather than JSON;
* requires ``setup`` first and exactly once, answers ``setupComplete``, and
  sends every server message as camelCase JSON in a **binary** frame;
* validates every message it receives against the google-genai SDK's types
  (``types.LiveClientMessage``; ``setup`` minus ``model`` as
  ``types.LiveConnectConfig``, the workaround for the SDK's ``LiveClientSetup``
  type gap, protocols.md 2.5) and closes with 1007 on anything invalid,
  including what :meth:`FakeGeminiLive.validate_setup` refuses (the hook where
  a variant adds the service's own checks, e.g. Vertex's model resource names);
* keeps a conversation per session, issues ``sessionResumptionUpdate`` handles
  and restores the conversation when a new connection resumes with a handle;
* sends only messages that validate as google-genai ``types.LiveServerMessage``;
* requires every pcm16 audio Blob (``realtimeInput.audio``, ``mediaChunks``,
  ``inlineData`` parts of ``clientContent``) to declare its sample rate in the
  MIME type (``audio/pcm;rate=24000``): a missing, malformed or nonsense rate
  closes the connection with 1007 (:func:`declared_rate`); the service
  resamples any declared rate, so the fake takes each Blob at its own rate;
* detects speech in the audio it receives (an energy VAD, in audio time computed
  from each Blob's declared rate) unless automatic activity detection is
  disabled, in which case it honours ``activityStart``/``activityEnd``;
  ``audioStreamEnd`` ends a turn at once;
* answers with scripted or default replies: text turns, audio turns
  (24 kHz ``inlineData`` + ``outputTranscription``), ``inputTranscription``,
  ``toolCall`` / ``toolCallCancellation``, ``interrupted``, ``usageMetadata``
  (AI Studio or Vertex field names), ``goAway`` and closing at the deadline.

Tests read :attr:`FakeGeminiLive.connections` (each with its ``setup``, the
messages received and the duration and rates of the audio heard) and
:attr:`FakeGeminiLive.invalid`.  The Vertex plugin's
tests reuse it with ``platform="vertex"`` (other path, Bearer auth, Vertex
usage names, no ``audioStreamEnd``) through ``tests.fakes.vertex_live``.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import anyio
from google.genai import types
from pydantic import ValidationError
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

AISTUDIO_PATHS = frozenset(
    f"/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent" for v in ("v1", "v1beta", "v1alpha")
) | frozenset(
    f"/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContentConstrained" for v in ("v1beta", "v1alpha")
)
VERTEX_PATHS = frozenset(
    f"/ws/google.cloud.aiplatform.{v}.LlmBidiService/BidiGenerateContent" for v in ("v1", "v1beta1")
)

OUTPUT_RATE = 24000
#: Input rates the fake accepts in a Blob's ``audio/pcm;rate=N`` (Google documents
#: 16 kHz as native and resampling of other declared rates; these are the rates
#: in real use, from telephone to studio).
MIN_INPUT_RATE = 8000
MAX_INPUT_RATE = 48000


def declared_rate(mime_type: Any) -> int:
    """The sample rate a pcm16 Blob declares (``audio/pcm;rate=24000``).

    :raises ValueError: not ``audio/pcm``, no ``rate`` parameter, or a rate that
        is not an integer from 8000 to 48000 Hz -- the service refuses such
        input with close code 1007.
    """
    if not isinstance(mime_type, str):
        raise ValueError(f"audio mimeType must be a string, got {mime_type!r}")
    kind, *params = (p.strip() for p in mime_type.split(";"))
    if kind.lower() != "audio/pcm":
        raise ValueError(f"unsupported audio mimeType {mime_type!r}; expected audio/pcm;rate=<Hz>")
    rates = [p.split("=", 1)[1].strip() for p in params if p.lower().startswith("rate=")]
    if len(rates) != 1:
        raise ValueError(f"audio mimeType {mime_type!r} must declare the sample rate once (audio/pcm;rate=<Hz>)")
    if not rates[0].isdigit() or not MIN_INPUT_RATE <= int(rates[0]) <= MAX_INPUT_RATE:
        raise ValueError(f"unsupported sample rate in {mime_type!r}")
    return int(rates[0])


def _check_audio_mimes(data: dict[str, Any]) -> None:
    """Every pcm16 audio Blob a client message carries declares a valid rate
    (``realtimeInput`` audio must be pcm16; ``clientContent`` may hold other
    audio files, which carry their own format)."""
    body = next(iter(data.values()))
    blobs: list[Any] = []
    if isinstance(body, dict):
        audio = _get(body, "audio")
        if audio is not None:
            blobs.append(audio)
        blobs += [b for b in _get(body, "mediaChunks", "media_chunks") or []
                  if str(_get(b, "mimeType", "mime_type")).startswith("audio/")]
        for turn in _get(body, "turns") or []:
            for part in _get(turn, "parts") or []:
                blob = _get(part, "inlineData", "inline_data")
                if blob is not None and str(_get(blob, "mimeType", "mime_type")).startswith("audio/pcm"):
                    blobs.append(blob)
    for blob in blobs:
        declared_rate(_get(blob, "mimeType", "mime_type"))


def tone24k(ms: int, hz: float = 330.0, amp: int = 6000) -> bytes:
    n = OUTPUT_RATE * ms // 1000
    return b"".join(struct.pack("<h", int(amp * math.sin(2 * math.pi * hz * i / OUTPUT_RATE))) for i in range(n))


def validate_client_message(raw: str | bytes, platform: str = "aistudio") -> dict[str, Any]:
    """Parse and validate one client message with google-genai's types.

    :raises ValueError: with the reason, when Google's service would reject it.
    """
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("a client message must be an object with exactly one key")
    key = next(iter(data))
    try:
        if key == "setup":
            setup = dict(data["setup"])
            model = setup.pop("model", None)
            if not isinstance(model, str) or not model:
                raise ValueError("setup.model is required")
            if platform == "aistudio" and not model.startswith(("models/", "tunedModels/")):
                raise ValueError(f"setup.model must be 'models/…', got {model!r}")
            types.LiveConnectConfig.model_validate_json(json.dumps(setup))
        else:
            msg = types.LiveClientMessage.model_validate_json(raw)
            _check_audio_mimes(data)
            if platform == "vertex":
                rt = msg.realtime_input
                if rt is not None and rt.audio_stream_end is not None:
                    raise ValueError("audioStreamEnd is not supported on Vertex AI")
                tr = msg.tool_response
                if tr is not None and any(r.will_continue is not None for r in tr.function_responses or []):
                    raise ValueError("willContinue is not supported on Vertex AI")
    except ValidationError as exc:
        raise ValueError(str(exc).splitlines()[0] + ": " + str(exc)[:400]) from None
    return data


def _get(d: Any, *names: str) -> Any:
    """Read a key in camelCase or snake_case (Google accepts both from clients)."""
    if not isinstance(d, dict):
        return None
    for n in names:
        if n in d:
            return d[n]
    return None


@dataclass
class Reply:
    """One scripted model turn.

    :ivar text: the reply's words (TEXT sessions: model text; AUDIO: the transcript).
    :ivar chunks: frames the reply is split into.
    :ivar audio_ms: milliseconds of audio per chunk in AUDIO sessions.
    :ivar tool_calls: ``[{"name", "args", "id"?}]``: a ``toolCall`` instead of content.
    :ivar cancel_tools: send ``toolCallCancellation`` for these calls right after.
    :ivar interrupt_after: after this many chunks send ``interrupted`` (a barge-in).
    :ivar mixed_text: in AUDIO sessions, also put this model text part in the first
        audio frame (what native-audio models do with non-spoken text).
    :ivar input_transcript: the user's words to report before replying.
    :ivar go_away: after the turn, send ``goAway`` with this ``timeLeft`` (e.g. "3s").
    """

    text: str | None = None
    chunks: int = 3
    audio_ms: int = 40
    tool_calls: list[dict[str, Any]] | None = None
    cancel_tools: bool = False
    interrupt_after: int | None = None
    mixed_text: str | None = None
    thought: str | None = None
    input_transcript: str | None = None
    go_away: str | None = None
    chunk_delay: float = 0.0
    usage: bool = True


@dataclass
class SessionState:
    """A Gemini session: survives connections through resumption handles."""

    id: int
    history: list[dict[str, Any]] = field(default_factory=list)
    turns: int = 0
    handles: int = 0


@dataclass
class Connection:
    """What one connection saw."""

    path: str
    headers: dict[str, str]
    setup: dict[str, Any] | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    session: SessionState | None = None
    resumed_from: str | None = None
    closed: tuple[int, str] | None = None
    ws: ServerConnection | None = None
    #: Milliseconds of ``realtimeInput`` audio heard, each Blob at its declared rate.
    audio_ms: float = 0.0
    #: The rates declared by the ``realtimeInput`` audio Blobs, in order, without repeats.
    audio_rates: list[int] = field(default_factory=list)

    def kinds(self) -> list[str]:
        """Message kinds received, e.g. ``realtimeInput.audio``, ``clientContent``."""
        out = []
        for m in self.received:
            key = next(iter(m))
            body = m[key]
            if key in ("realtimeInput", "realtime_input") and isinstance(body, dict):
                out.append("realtimeInput." + ",".join(sorted(body)))
            else:
                out.append(key)
        return out


@dataclass
class FakeGeminiLive:
    """Scriptable fake.  Change attributes between (or during) sessions."""

    api_key: str | None = "test-key"
    platform: str = "aistudio"  # or "vertex": paths, Bearer auth, usage names, no audioStreamEnd
    bearer_token: str | None = None  # Vertex: expected "Authorization: Bearer <token>"
    replies: list[Reply] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    #: Close the next setup with (code, reason) instead of completing it.
    reject_setup: tuple[int, str] | None = None
    #: Refuse every WebSocket handshake with (HTTP status, message) while set.
    refuse_handshakes: tuple[int, str] | None = None
    #: Speech level (RMS of 16-bit samples) for the energy VAD.
    speech_rms: float = 500.0
    default_silence_ms: int = 500
    send_resumption_updates: bool = True
    port: int = 0
    connections: list[Connection] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    sessions: dict[str, SessionState] = field(default_factory=dict)  # handle → session
    _next_session: int = 1

    # ------------------------------------------------------------------ helpers for tests

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def live(self) -> list[Connection]:
        return [c for c in self.connections if c.closed is None and c.ws is not None]

    def all_received(self) -> list[dict[str, Any]]:
        return [m for c in self.connections for m in c.received]

    async def wait_for_setup(self, count: int, timeout: float = 5.0) -> Connection:
        """Wait until ``count`` connections have completed ``setup`` (a session
        is attached); returns the last of them."""
        with anyio.fail_after(timeout):
            while len(self.connections) < count or self.connections[count - 1].session is None:
                await anyio.sleep(0.01)
        return self.connections[count - 1]

    async def go_away(self, time_left: str = "5s", close_after: float | None = None,
                      conn: Connection | None = None) -> Connection:
        """Send ``goAway`` on a live connection (the newest by default) and close it
        with 1011 "Deadline expired" after ``close_after`` seconds if still open."""
        conn = conn or self.live[-1]
        assert conn.ws is not None
        await self._send(conn.ws, {"goAway": {"timeLeft": time_left}})
        if close_after is not None:
            async def close_later() -> None:
                await anyio.sleep(close_after)
                if conn.closed is None and conn.ws is not None:
                    await conn.ws.close(1011, "Deadline expired")
            self._tg.start_soon(close_later)
        return conn

    async def close_connection(self, code: int = 1011, reason: str = "Internal error", conn: Connection | None = None) -> None:
        conn = conn or self.live[-1]
        assert conn.ws is not None
        await conn.ws.close(code, reason)

    # ------------------------------------------------------------------ hook for variants

    def validate_setup(self, setup: dict[str, Any], conn: Connection) -> None:
        """Checks the service makes on a ``setup`` beyond the SDK types.

        Called with every first message that is a valid ``setup``; raise
        ``ValueError(reason)`` to close the connection with 1007 as the service
        does (the reason goes to :attr:`invalid`).  The base fake has none.
        """

    # ------------------------------------------------------------------ server

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeGeminiLive]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            # Cancel only after the server has closed: cancelling first made its
            # close raise CancelledError over the body's own exception, which the
            # task group then swallowed -- a failing assert inside passed.
            try:
                async with serve(self._handler, "127.0.0.1", 0, process_request=self._process_request,
                                 compression=None, max_size=None) as server:
                    self.port = next(iter(server.sockets)).getsockname()[1]
                    yield self
            finally:
                tg.cancel_scope.cancel()

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        path = request.path.split("?")[0]
        paths = VERTEX_PATHS if self.platform == "vertex" else AISTUDIO_PATHS
        if path not in paths:
            return _error_response(404, "Not found")
        if self.refuse_handshakes is not None:
            return _error_response(*self.refuse_handshakes)
        if "key=" in request.path:
            self.invalid.append((request.path.split("?")[0] + "?<redacted>", "the key must be sent as a header, not in the URL"))
        return None

    def _authorized(self, headers: Headers) -> bool:
        if self.platform == "vertex":
            return self.bearer_token is None or headers.get("Authorization") == f"Bearer {self.bearer_token}"
        return self.api_key is None or headers.get("x-goog-api-key") == self.api_key

    async def _send(self, ws: ServerConnection, message: dict[str, Any]) -> None:
        raw = json.dumps(message).encode()
        check = message
        if self.platform == "vertex" and "usageMetadata" in message:
            # google-genai's type has the AI Studio usage names only (protocols.md 2.5).
            check = {k: v for k, v in message.items() if k != "usageMetadata"}
        if check:
            types.LiveServerMessage.model_validate_json(json.dumps(check))  # the fake itself stays faithful
        await ws.send(raw)  # binary frame, as Google sends

    async def _handler(self, ws: ServerConnection) -> None:
        req = ws.request
        assert req is not None
        conn = Connection(req.path, {k.lower(): v for k, v in req.headers.raw_items()}, ws=ws)
        self.connections.append(conn)
        try:
            await _LiveSession(self, ws, conn).run()
        except* ConnectionClosed:
            pass  # the peer (or a test) closed the connection
        finally:
            if conn.closed is None:
                code = ws.close_code
                conn.closed = (code if code is not None else 1006, ws.close_reason or "")

    async def _close(self, ws: ServerConnection, conn: Connection, code: int, reason: str) -> None:
        conn.closed = (code, reason)
        await ws.close(code, reason)

    def _take_reply(self) -> Reply | None:
        return self.replies.pop(0) if self.replies else None

    def _take_transcript(self, n: int) -> str:
        return self.transcripts.pop(0) if self.transcripts else f"user turn {n}"

    def _usage(self, session: SessionState, modality: str) -> dict[str, Any]:
        prompt = 10 * session.turns + 7
        out = 5 if modality == "TEXT" else 25
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "totalTokenCount": prompt + out,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt - 4}, {"modality": "AUDIO", "tokenCount": 4}],
        }
        if self.platform == "vertex":
            usage["candidatesTokenCount"] = out
            usage["candidatesTokensDetails"] = [{"modality": modality, "tokenCount": out}]
        else:
            usage["responseTokenCount"] = out
            usage["responseTokensDetails"] = [{"modality": modality, "tokenCount": out}]
        return usage


class _LiveSession:
    """One connection's protocol state."""

    def __init__(self, fake: FakeGeminiLive, ws: ServerConnection, conn: Connection) -> None:
        self.fake = fake
        self.ws = ws
        self.conn = conn
        self.session: SessionState
        self.modality = "AUDIO"
        self.vad = True
        self.interrupts = True
        self.silence_ms = fake.default_silence_ms
        self.tools = False
        # audio-time VAD state
        self.in_speech = False
        self.speech_ms = 0.0
        self.silence_run = 0.0
        self.activity = False
        self.reply_scope: anyio.CancelScope | None = None
        self.replying = False
        self.pending_calls: list[str] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.fake._send(self.ws, message)

    async def run(self) -> None:
        fake, conn, ws = self.fake, self.conn, self.ws
        if not fake._authorized(ws.request.headers):  # type: ignore[union-attr]
            await fake._close(ws, conn, 1008, "API key not valid. Please pass a valid API key.")
            return
        raw = await ws.recv()
        first = await self._validated(raw)
        if first is None:
            return
        if "setup" not in first:
            await self._invalid(_redact(raw), "setup must be the first message.")
            return
        conn.received.append(first)
        setup = conn.setup = first["setup"]
        try:
            fake.validate_setup(setup, conn)
        except ValueError as exc:
            await self._invalid("setup", str(exc))
            return
        if fake.reject_setup is not None:
            code, reason = fake.reject_setup
            fake.reject_setup = None
            await fake._close(ws, conn, code, reason)
            return
        self._configure(setup)
        handle = _get(_get(setup, "sessionResumption", "session_resumption"), "handle")
        if handle:
            session = fake.sessions.get(handle)
            if session is None:
                await fake._close(ws, conn, 1007, "Invalid session resumption handle.")
                return
            conn.resumed_from = handle
        else:
            session = SessionState(fake._next_session)
            fake._next_session += 1
        self.session = conn.session = session
        await self.send({"setupComplete": {}})
        await self._resumption_update()
        async with anyio.create_task_group() as tg:
            self.tg = tg
            async for raw in ws:
                msg = await self._validated(raw)
                if msg is None:
                    break
                if "setup" in msg:
                    await self._invalid("setup", "setup sent twice.")
                    break
                conn.received.append(msg)
                await self._dispatch(msg)
            tg.cancel_scope.cancel()

    async def _validated(self, raw: str | bytes) -> dict[str, Any] | None:
        """The message, or None after closing with 1007 as Google does."""
        try:
            return validate_client_message(raw, self.fake.platform)
        except ValueError as exc:
            await self._invalid(_redact(raw), str(exc))
            return None

    async def _invalid(self, what: str, why: str) -> None:
        self.fake.invalid.append((what, why))
        await self.fake._close(self.ws, self.conn, 1007, f"Request contains an invalid argument. {why}"[:120])

    def _configure(self, setup: dict[str, Any]) -> None:
        gen = _get(setup, "generationConfig", "generation_config") or {}
        mods = _get(gen, "responseModalities", "response_modalities") or ["AUDIO"]
        self.modality = str(mods[0]).upper()
        ric = _get(setup, "realtimeInputConfig", "realtime_input_config") or {}
        aad = _get(ric, "automaticActivityDetection", "automatic_activity_detection") or {}
        self.vad = not _get(aad, "disabled")
        self.silence_ms = _get(aad, "silenceDurationMs", "silence_duration_ms") or self.fake.default_silence_ms
        self.interrupts = _get(ric, "activityHandling", "activity_handling") != "NO_INTERRUPTION"
        self.tools = bool(_get(setup, "tools"))

    async def _resumption_update(self) -> None:
        if not self.fake.send_resumption_updates:
            return
        s = self.session
        s.handles += 1
        handle = f"handle-{s.id}-{s.handles}"
        self.fake.sessions[handle] = s
        await self.send({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}})

    # ------------------------------------------------------------------ client messages

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        key = next(iter(msg))
        body = msg[key]
        if key in ("clientContent", "client_content"):
            turns = _get(body, "turns") or []
            for t in turns:
                self.session.history.append(t)
            if _get(body, "turnComplete", "turn_complete"):
                await self._start_reply(_last_user_text(turns) or _last_user_text(self.session.history))
        elif key in ("realtimeInput", "realtime_input"):
            await self._realtime(body)
        elif key in ("toolResponse", "tool_response"):
            for r in _get(body, "functionResponses", "function_responses") or []:
                self.session.history.append({"role": "user", "parts": [{"functionResponse": r}]})
                rid = _get(r, "id")
                if rid in self.pending_calls:
                    self.pending_calls.remove(rid)
            if not self.pending_calls:
                await self._start_reply("tool results", after_tool=True)

    async def _realtime(self, body: dict[str, Any]) -> None:
        audio = _get(body, "audio")
        if audio is not None:
            rate = declared_rate(_get(audio, "mimeType", "mime_type"))  # checked on receipt
            if not self.conn.audio_rates or self.conn.audio_rates[-1] != rate:
                self.conn.audio_rates.append(rate)
            await self._audio(_b64decode(_get(audio, "data") or ""), rate)
        if _get(body, "activityStart", "activity_start") is not None:
            if self.vad:
                self.fake.invalid.append(("activityStart", "activityStart with automatic activity detection on"))
            self.activity = True
            self.speech_ms = 0.0
            await self._barge_in()
        if _get(body, "activityEnd", "activity_end") is not None:
            if self.activity:
                self.activity = False
                await self._user_turn_done()
        if _get(body, "audioStreamEnd", "audio_stream_end"):
            if self.in_speech:
                self.in_speech = False
                await self._user_turn_done()
        text = _get(body, "text")
        if isinstance(text, str) and text.strip():
            self.session.history.append({"role": "user", "parts": [{"text": text}]})
            await self._start_reply(text)

    async def _audio(self, pcm: bytes, rate: int) -> None:
        ms = len(pcm) / 2 / rate * 1000
        self.conn.audio_ms += ms
        if not self.vad:
            if self.activity:
                self.speech_ms += ms
            return
        n = len(pcm) // 2
        rms = math.sqrt(sum(s * s for s in struct.unpack(f"<{n}h", pcm[: n * 2])) / n) if n else 0.0
        if rms >= self.fake.speech_rms:
            self.silence_run = 0.0
            if not self.in_speech:
                self.in_speech = True
                self.speech_ms = 0.0
                await self._barge_in()
            self.speech_ms += ms
        elif self.in_speech:
            self.silence_run += ms
            if self.silence_run >= self.silence_ms:
                self.in_speech = False
                await self._user_turn_done()

    async def _barge_in(self) -> None:
        if self.replying and self.interrupts and self.reply_scope is not None:
            self.reply_scope.cancel()
            self.replying = False
            await self.send({"serverContent": {"interrupted": True}})
            await self.send({"serverContent": {"turnComplete": True}})

    async def _user_turn_done(self) -> None:
        n = self.session.turns + 1
        reply = self.fake.replies[0] if self.fake.replies else None
        words = (reply.input_transcript if reply and reply.input_transcript else None) or self.fake._take_transcript(n)
        self.session.history.append({"role": "user", "parts": [{"text": words}]})
        await self.send({"serverContent": {"inputTranscription": {"text": " " + words}}})
        await self._start_reply(words)

    # ------------------------------------------------------------------ replies

    async def _start_reply(self, prompt: str, after_tool: bool = False) -> None:
        if self.replying and self.reply_scope is not None:
            # New client content interrupts the current generation.
            self.reply_scope.cancel()
            await self.send({"serverContent": {"interrupted": True}})
            await self.send({"serverContent": {"turnComplete": True}})
        reply = self.fake._take_reply() or Reply()
        self.replying = True
        scope = self.reply_scope = anyio.CancelScope()
        self.tg.start_soon(self._reply, scope, reply, prompt, after_tool)
        await anyio.sleep(0)

    async def _reply(self, scope: anyio.CancelScope, reply: Reply, prompt: str, after_tool: bool) -> None:
        with scope:
            s = self.session
            if reply.tool_calls and self.tools:
                calls = []
                for i, c in enumerate(reply.tool_calls):
                    call = {"name": c["name"], "args": c.get("args", {})}
                    if c.get("id", True) is not None:
                        call["id"] = c.get("id") or f"call-{s.id}-{s.turns + 1}-{i}"
                        self.pending_calls.append(call["id"])
                    calls.append(call)
                s.history.append({"role": "model", "parts": [{"functionCall": c} for c in calls]})
                await self.send({"toolCall": {"functionCalls": calls}})
                if reply.cancel_tools:
                    ids = [c["id"] for c in calls if "id" in c]
                    self.pending_calls = [p for p in self.pending_calls if p not in ids]
                    await self.send({"toolCallCancellation": {"ids": ids}})
                self.replying = False
                return
            s.turns += 1
            text = reply.text if reply.text is not None else f"Reply {s.turns} to: {prompt}"
            words = _split(text, reply.chunks)
            said: list[str] = []
            if reply.thought:
                await self.send({"serverContent": {"modelTurn": {"parts": [{"text": reply.thought, "thought": True}]}}})
            for i, chunk in enumerate(words):
                if reply.interrupt_after is not None and i >= reply.interrupt_after:
                    self.replying = False
                    await self.send({"serverContent": {"interrupted": True}})
                    await self.send({"serverContent": {"turnComplete": True}})
                    s.history.append({"role": "model", "parts": [{"text": "".join(said)}]})
                    return
                if self.modality == "TEXT":
                    await self.send({"serverContent": {"modelTurn": {"parts": [{"text": chunk}]}}})
                else:
                    parts: list[dict[str, Any]] = [{"inlineData": {
                        "mimeType": f"audio/pcm;rate={OUTPUT_RATE}",
                        "data": base64.b64encode(tone24k(reply.audio_ms)).decode()}}]
                    if reply.mixed_text and i == 0:
                        parts.append({"text": reply.mixed_text})
                    await self.send({"serverContent": {"modelTurn": {"parts": parts}}})
                    await self.send({"serverContent": {"outputTranscription": {"text": chunk}}})
                said.append(chunk)
                if reply.chunk_delay:
                    await anyio.sleep(reply.chunk_delay)
            s.history.append({"role": "model", "parts": [{"text": text}]})
            self.replying = False
            await self.send({"serverContent": {"generationComplete": True}})
            final: dict[str, Any] = {"serverContent": {"turnComplete": True}}
            if reply.usage:
                final["usageMetadata"] = self.fake._usage(s, self.modality)
            await self.send(final)
            await self._resumption_update()
            if reply.go_away:
                await self.send({"goAway": {"timeLeft": reply.go_away}})


#: google.rpc.Code names Google puts in an HTTP error body's ``status``.
_RPC_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
               429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _error_response(status: int, message: str) -> Response:
    """A refused handshake with Google's JSON error body."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps({"error": {"code": status, "message": message,
                                 "status": _RPC_STATUS.get(status, "UNKNOWN")}}).encode()
    return Response(status, phrase, Headers([("Content-Type", "application/json"),
                                            ("Content-Length", str(len(body)))]), body)


def _split(text: str, n: int) -> list[str]:
    words = text.split(" ")
    n = max(1, min(n, len(words)))
    size = math.ceil(len(words) / n)
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [c + (" " if i < len(chunks) - 1 else "") for i, c in enumerate(chunks)]


def _last_user_text(turns: list[Any]) -> str:
    for t in reversed(turns):
        if _get(t, "role") == "user":
            for p in _get(t, "parts") or []:
                if isinstance(_get(p, "text"), str):
                    return p["text"]
    return ""


def _b64decode(data: str) -> bytes:
    """Both alphabets (google-genai sends URL-safe base64), padding optional."""
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)


def _redact(raw: str | bytes) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text[:300]
