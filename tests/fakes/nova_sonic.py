"""A fake Amazon Bedrock Nova Sonic endpoint on loopback: HTTP/2 over TLS.

It serves ``POST /model/{modelId}/invoke-with-bidirectional-stream`` the way
``bedrock-runtime.{region}.amazonaws.com`` does, so the real
``aws-sdk-bedrock-runtime`` client (CRT transport) can talk to it:

* **Transport.** hypercorn with h2 on ``127.0.0.1:0``; a throw-away test CA and
  server certificate made with ``cryptography`` at start-up (nothing is
  committed).  Point a deployment at it with ``api_base=fake.url`` and
  ``tls_ca_file=fake.ca_file``.
* **Framing and types.** The request body is decoded as AWS event-stream
  messages: each one a signed envelope (``:date``, ``:chunk-signature``) around
  an inner ``chunk`` event, deserialised with the SDK's own input-union
  deserializer (so only what the SDK type allows gets through).  Output is
  serialised with the SDK's own event serializer in server mode, both chunks
  and modelled exceptions.
* **Auth.** The ``Authorization`` header must be SigV4 for service
  ``bedrock``; the access key id is recorded (the secret never is).
* **Grammar.** sessionStart first; one promptStart; unique contentNames; every
  contentStart closed by its contentEnd; audio only inside an open AUDIO block;
  history (non-interactive text) before the audio block; tool results only for
  a toolUseId the fake issued; promptEnd/sessionEnd last.  A violation is
  answered with a ``ValidationException`` and the stream ends, as Bedrock does.
* **Behaviour (deterministic).** A user turn ends after speech (any sample
  above a threshold) followed by ``endpoint_ms`` of silence, or with an
  interactive USER text block (Nova 2).  The answer is built by
  :attr:`FakeNovaSonic.reply` (default: a short sentence): USER ASR text
  (FINAL), optional toolUse (then it waits for the TOOL result), rounds of
  SPECULATIVE text → 24 kHz audio (paced) → FINAL text, cumulative
  ``usageEvent``.  Speech while it is answering is a barge-in: the
  ``{ "interrupted" : true }`` text and ``stopReason: INTERRUPTED``.
* **Failures on demand.** ``connect_errors`` (HTTP error at connect),
  :meth:`inject_error` (a modelled exception mid-stream) and
  ``stream_limit_s`` (the stream ends with an error after that long, like the
  8-minute cap).
* **Records.** :attr:`streams` keeps every stream: path, access key id, every
  decoded Nova event received, what was sent, how it ended.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import io
import ipaddress
import json
import math
import os
import re
import socket
import struct
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeNovaSonic", "Reply", "NovaStreamRecord", "running_fake_nova", "make_test_ca"]

_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                      r"SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$")
_INTERRUPTED = '{ "interrupted" : true }'


# --------------------------------------------------------------------------- TLS material


def make_test_ca(directory: str) -> tuple[str, str, str]:
    """Write a test CA and a 127.0.0.1 server certificate; return (ca, cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rt test CA (fake Nova Sonic)")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem"))
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths  # type: ignore[return-value]


# --------------------------------------------------------------------------- SDK codec


class _Codec:
    """The SDK's own event-stream (de)serialisers, in server mode."""

    def __init__(self) -> None:
        from aws_sdk_bedrock_runtime import models
        from aws_sdk_bedrock_runtime.config import _PROTOCOL_SETTINGS
        from smithy_aws_core.aio.protocols import RestJsonClientProtocol

        self.m = models
        self.codec = RestJsonClientProtocol(_PROTOCOL_SETTINGS).payload_codec

    def decode_input(self, inner: bytes) -> bytes:
        """Inner chunk message → the Nova JSON bytes (validated by the SDK type)."""
        from smithy_aws_event_stream._private.deserializers import EventDeserializer
        from smithy_aws_event_stream.events import Event

        event = Event.decode(io.BytesIO(inner))
        if event is None:
            raise ValueError("empty inner event")
        h = event.message.headers
        if h.get(":message-type") != "event" or h.get(":event-type") != "chunk":
            raise ValueError(f"unexpected inner event headers {h!r}")
        value = self.m._InvokeModelWithBidirectionalStreamInputDeserializer().deserialize(
            EventDeserializer(event, self.codec, is_client_mode=False))
        if not isinstance(value, self.m.InvokeModelWithBidirectionalStreamInputChunk) or not value.value.bytes_:
            raise ValueError(f"not a chunk with bytes: {value!r}")
        return value.value.bytes_

    def _encode(self, shape: Any) -> bytes:
        from smithy_aws_event_stream._private.serializers import EventSerializer

        ser = EventSerializer(self.codec, is_client_mode=False)
        shape.serialize(ser)
        result = ser.get_result()
        assert result is not None
        return result.encode()

    def chunk(self, nova_event: dict[str, Any]) -> bytes:
        m = self.m
        data = json.dumps(nova_event).encode()
        return self._encode(m.InvokeModelWithBidirectionalStreamOutputChunk(
            value=m.BidirectionalOutputPayloadPart(bytes_=data)))

    def exception(self, kind: str, message: str) -> bytes:
        m = self.m
        exc_cls = getattr(m, kind)
        wrapper = getattr(m, f"InvokeModelWithBidirectionalStreamOutput{kind}")
        return self._encode(wrapper(value=exc_cls(message=message)))


# --------------------------------------------------------------------------- behaviour


@dataclass
class Reply:
    """What the fake model answers to one user turn."""

    user_text: str | None = None  # ASR text (None: no USER block, e.g. for text turns)
    sentences: list[str] = field(default_factory=lambda: ["Hello from the fake Nova Sonic."])
    audio_ms_per_sentence: int = 200
    tool: tuple[str, dict[str, Any]] | None = None  # (toolName, args) before speaking
    after_tool: Callable[[str], list[str]] | None = None  # tool result → sentences


def default_reply(turn: int, user_text: str | None, speech_ms: float) -> Reply:
    said = user_text if user_text is not None else f"user utterance {turn} of {int(speech_ms)} ms"
    return Reply(user_text=said, sentences=[f"Answer {turn}.", f"You said: {said}."])


@dataclass
class NovaStreamRecord:
    path: str
    model_id: str
    access_key_id: str | None
    region: str | None
    headers: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)  # decoded Nova input events
    sent: list[dict[str, Any]] = field(default_factory=list)  # Nova output events (and exceptions)
    violations: list[str] = field(default_factory=list)
    ended: str | None = None  # how the stream ended
    turns: int = 0

    def names(self) -> list[str]:
        return [next(iter(e["event"])) for e in self.events]

    def audio_bytes(self) -> int:
        return sum(len(base64.b64decode(e["event"]["audioInput"]["content"]))
                   for e in self.events if "audioInput" in e["event"])

    def texts(self, role: str | None = None, interactive: bool | None = None) -> list[str]:
        """textInput contents, optionally only of blocks with that role/interactivity."""
        blocks: dict[str, dict[str, Any]] = {}
        out = []
        for e in self.events:
            ev = e["event"]
            if "contentStart" in ev:
                blocks[ev["contentStart"]["contentName"]] = ev["contentStart"]
            elif "textInput" in ev:
                cs = blocks.get(ev["textInput"]["contentName"], {})
                if (role is None or cs.get("role") == role) and (interactive is None or cs.get("interactive") == interactive):
                    out.append(ev["textInput"]["content"])
        return out


class _GrammarError(Exception):
    pass


class _StreamState:
    """One Nova stream: grammar checking and the scripted model."""

    def __init__(self, fake: FakeNovaSonic, record: NovaStreamRecord, out: asyncio.Queue[bytes | None]) -> None:
        self.fake = fake
        self.rec = record
        self.out = out
        self.session_started = False
        self.prompt: str | None = None
        self.prompt_ended = False
        self.session_ended = False
        self.names: set[str] = set()
        self.open_blocks: dict[str, dict[str, Any]] = {}
        self.audio_block: str | None = None
        self.audio_seen = False
        self.tool_ids: set[str] = set()
        self.tools: list[dict[str, Any]] = []
        self.completion = f"completion-{id(self) % 10000}"
        self.session_id = f"nova-session-{len(fake.streams)}"
        self.counter = 0
        self.speech_ms = 0.0
        self.silence_ms = 0.0
        self.in_speech = False
        self.speaking: asyncio.Task[None] | None = None
        self.awaiting_tool: tuple[str, Reply] | None = None
        self.usage = [0, 0, 0, 0]  # in speech, in text, out speech, out text
        self.completion_started = False
        self.interrupt = asyncio.Event()

    # ---------------------------------------------------------------- output helpers

    def _cid(self) -> str:
        self.counter += 1
        return f"content-{self.counter}"

    async def emit(self, name: str, body: dict[str, Any]) -> None:
        ev = {"event": {name: {"sessionId": self.session_id, "promptName": self.prompt,
                               "completionId": self.completion, **body}}}
        self.rec.sent.append(ev)
        await self.out.put(self.fake.codec.chunk(ev))

    async def emit_exception(self, kind: str, message: str) -> None:
        self.rec.sent.append({"exception": kind, "message": message})
        await self.out.put(self.fake.codec.exception(kind, message))

    async def block(self, ctype: str, role: str, stage: str | None, body_events: list[tuple[str, dict[str, Any]]],
                    stop: str) -> None:
        cid = self._cid()
        start: dict[str, Any] = {"contentId": cid, "type": ctype, "role": role}
        if stage:
            start["additionalModelFields"] = json.dumps({"generationStage": stage})
        if ctype == "TEXT":
            start["textOutputConfiguration"] = {"mediaType": "text/plain"}
        elif ctype == "AUDIO":
            start["audioOutputConfiguration"] = {"mediaType": "audio/lpcm", "sampleRateHertz": 24000,
                                                 "sampleSizeBits": 16, "channelCount": 1, "encoding": "base64",
                                                 "audioType": "SPEECH"}
        elif ctype == "TOOL":
            start["toolUseOutputConfiguration"] = {"mediaType": "application/json"}
        await self.emit("contentStart", start)
        for name, body in body_events:
            await self.emit(name, {"contentId": cid, **body})
        await self.emit("contentEnd", {"contentId": cid, "type": ctype, "role": role, "stopReason": stop})

    async def usage_event(self) -> None:
        isp, itx, osp, otx = self.usage
        await self.emit("usageEvent", {
            "details": {"delta": {"input": {"speechTokens": 0, "textTokens": 0},
                                  "output": {"speechTokens": 0, "textTokens": 0}},
                        "total": {"input": {"speechTokens": isp, "textTokens": itx},
                                  "output": {"speechTokens": osp, "textTokens": otx}}},
            "totalInputTokens": isp + itx, "totalOutputTokens": osp + otx, "totalTokens": isp + itx + osp + otx,
        })

    # ---------------------------------------------------------------- input

    async def handle(self, ev: dict[str, Any]) -> None:
        if not isinstance(ev, dict) or set(ev) != {"event"} or not isinstance(ev["event"], dict) or len(ev["event"]) != 1:
            raise _GrammarError(f"malformed event {str(ev)[:200]}")
        ((name, body),) = ev["event"].items()
        if self.session_ended:
            raise _GrammarError(f"{name} after sessionEnd")
        if not self.session_started:
            if name != "sessionStart":
                raise _GrammarError(f"the first event must be sessionStart, not {name}")
            inf = body.get("inferenceConfiguration")
            if not isinstance(inf, dict) or not isinstance(inf.get("maxTokens"), int):
                raise _GrammarError("sessionStart needs inferenceConfiguration.maxTokens")
            self.session_started = True
            return
        if name == "sessionStart":
            raise _GrammarError("sessionStart sent twice")
        if name == "promptStart":
            if self.prompt is not None:
                raise _GrammarError("promptStart sent twice")
            self._check_prompt_start(body)
            self.prompt = body["promptName"]
            return
        if name == "sessionEnd":
            if self.prompt is not None and not self.prompt_ended:
                raise _GrammarError("sessionEnd before promptEnd")
            self.session_ended = True
            return
        if self.prompt is None:
            raise _GrammarError(f"{name} before promptStart")
        if body.get("promptName") != self.prompt:
            raise _GrammarError(f"{name} names prompt {body.get('promptName')!r}, not {self.prompt!r}")
        if self.prompt_ended:
            raise _GrammarError(f"{name} after promptEnd")
        if name == "promptEnd":
            if self.open_blocks:
                raise _GrammarError(f"promptEnd with open content {sorted(self.open_blocks)}")
            self.prompt_ended = True
            return
        cname = body.get("contentName")
        if not isinstance(cname, str) or not cname:
            raise _GrammarError(f"{name} without contentName")
        if name == "contentStart":
            await self._content_start(cname, body)
        elif name == "contentEnd":
            block = self.open_blocks.pop(cname, None)
            if block is None:
                raise _GrammarError(f"contentEnd for {cname!r}, which is not open")
            await self._content_end(cname, block)
        elif name in ("textInput", "audioInput", "toolResult"):
            block = self.open_blocks.get(cname)
            if block is None:
                raise _GrammarError(f"{name} for {cname!r}, which is not open")
            want = {"textInput": "TEXT", "audioInput": "AUDIO", "toolResult": "TOOL"}[name]
            if block["type"] != want:
                raise _GrammarError(f"{name} inside a {block['type']} block")
            content = body.get("content")
            if not isinstance(content, str):
                raise _GrammarError(f"{name} without string content")
            if name == "audioInput":
                await self._audio(base64.b64decode(content, validate=True))
            else:
                block.setdefault("text", []).append(content)
        else:
            raise _GrammarError(f"unknown input event {name}")

    def _check_prompt_start(self, b: dict[str, Any]) -> None:
        if not isinstance(b.get("promptName"), str):
            raise _GrammarError("promptStart without promptName")
        aoc = b.get("audioOutputConfiguration") or {}
        if aoc.get("sampleRateHertz") not in (8000, 16000, 24000) or not aoc.get("voiceId"):
            raise _GrammarError("promptStart.audioOutputConfiguration needs sampleRateHertz and voiceId")
        tc = b.get("toolConfiguration")
        if tc is not None:
            for t in tc.get("tools") or []:
                spec = t.get("toolSpec") or {}
                schema = (spec.get("inputSchema") or {}).get("json")
                if not isinstance(schema, str):
                    raise _GrammarError("toolSpec.inputSchema.json must be a JSON string")
                json.loads(schema)
                if not spec.get("name") or not spec.get("description"):
                    raise _GrammarError("toolSpec needs name and description")
                self.tools.append(spec)

    async def _content_start(self, cname: str, b: dict[str, Any]) -> None:
        if cname in self.names:
            raise _GrammarError(f"contentName {cname!r} used twice")
        self.names.add(cname)
        ctype, role = b.get("type"), b.get("role")
        if ctype == "AUDIO":
            if role != "USER" or b.get("interactive") is not True:
                raise _GrammarError("the AUDIO block must be role USER, interactive")
            cfg = b.get("audioInputConfiguration") or {}
            if cfg.get("sampleRateHertz") != 16000 or cfg.get("sampleSizeBits") != 16 or cfg.get("encoding") != "base64":
                raise _GrammarError(f"unexpected audioInputConfiguration {cfg}")
            if self.audio_block is not None or self.audio_seen:
                raise _GrammarError("a second AUDIO block")
            self.audio_block = cname
            self.audio_seen = True
        elif ctype == "TEXT":
            if role not in ("SYSTEM", "USER", "ASSISTANT", "SYSTEM_SPEECH"):
                raise _GrammarError(f"TEXT block with role {role!r}")
            if not b.get("interactive") and self.audio_seen:
                raise _GrammarError("history (non-interactive text) after the audio block started")
            if b.get("interactive") and not self.fake.nova2(self.rec.model_id):
                raise _GrammarError("interactive text input needs Nova 2 Sonic")
        elif ctype == "TOOL":
            cfg = b.get("toolResultInputConfiguration") or {}
            if role != "TOOL" or cfg.get("toolUseId") not in self.tool_ids:
                raise _GrammarError(f"tool result for unknown toolUseId {cfg.get('toolUseId')!r}")
        else:
            raise _GrammarError(f"unknown content type {ctype!r}")
        self.open_blocks[cname] = dict(b)

    async def _content_end(self, cname: str, block: dict[str, Any]) -> None:
        if block["type"] == "AUDIO":
            self.audio_block = None
        elif block["type"] == "TEXT" and block.get("interactive") and block.get("role") == "USER":
            text = " ".join(block.get("text", []))
            self.usage[1] += max(1, len(text.split()))
            await self._user_turn(text, 0.0)
        elif block["type"] == "TOOL":
            tool_id = block["toolResultInputConfiguration"]["toolUseId"]
            self.tool_ids.discard(tool_id)
            if self.awaiting_tool and self.awaiting_tool[0] == tool_id:
                _, reply = self.awaiting_tool
                self.awaiting_tool = None
                result = " ".join(block.get("text", []))
                sentences = reply.after_tool(result) if reply.after_tool else [f"The tool said {result}."]
                self._start_speaking(Reply(user_text=None, sentences=sentences,
                                           audio_ms_per_sentence=reply.audio_ms_per_sentence), user_block=False)

    async def _audio(self, pcm: bytes) -> None:
        import numpy as np

        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        ms = len(samples) / 16.0
        loud = bool(samples.size) and int(np.abs(samples.astype(np.int32)).max()) > self.fake.speech_threshold
        self.usage[0] += int(ms // 40)
        if loud:
            if not self.in_speech:
                self.in_speech = True
                self.speech_ms = 0.0
                if self.speaking is not None and not self.speaking.done():
                    self.interrupt.set()  # barge-in
            self.speech_ms += ms
            self.silence_ms = 0.0
        elif self.in_speech:
            self.silence_ms += ms
            if self.silence_ms >= self.fake.endpoint_ms:
                self.in_speech = False
                speech = self.speech_ms
                await self._user_turn(None, speech)

    async def _user_turn(self, text: str | None, speech_ms: float) -> None:
        self.rec.turns += 1
        self.fake.turns += 1
        if self.speaking is not None and not self.speaking.done():
            await self.speaking
        reply = self.fake.reply(self.fake.turns, text, speech_ms)
        self._start_speaking(reply, user_block=True)

    def _start_speaking(self, reply: Reply, *, user_block: bool) -> None:
        self.interrupt = asyncio.Event()
        self.speaking = asyncio.ensure_future(self._speak(reply, user_block))
        self.fake._tasks.add(self.speaking)

    async def _speak(self, reply: Reply, user_block: bool) -> None:
        if not self.completion_started:
            self.completion_started = True
            await self.emit("completionStart", {})
        if user_block and reply.user_text is not None:
            await self.block("TEXT", "USER", "FINAL", [("textOutput", {"content": reply.user_text, "role": "USER"})],
                             "PARTIAL_TURN")
        if reply.tool is not None:
            name, args = reply.tool
            tool_id = f"tooluse-{self.counter + 1}-{self.fake.turns}"
            self.tool_ids.add(tool_id)
            self.awaiting_tool = (tool_id, reply)
            await self.block("TOOL", "TOOL", None, [("toolUse", {"toolName": name, "toolUseId": tool_id,
                                                                  "content": json.dumps(args)})], "TOOL_USE")
            await self.usage_event()
            return
        pace = self.fake.audio_pace
        for i, sentence in enumerate(reply.sentences):
            last = i == len(reply.sentences) - 1
            stop = "END_TURN" if last else "PARTIAL_TURN"
            await self.block("TEXT", "ASSISTANT", "SPECULATIVE",
                             [("textOutput", {"content": sentence, "role": "ASSISTANT"})], "PARTIAL_TURN")
            cid = self._cid()
            await self.emit("contentStart", {"contentId": cid, "type": "AUDIO", "role": "ASSISTANT",
                                             "audioOutputConfiguration": {"sampleRateHertz": 24000}})
            interrupted = False
            sent_ms = 0
            while sent_ms < reply.audio_ms_per_sentence:
                if self.interrupt.is_set():
                    interrupted = True
                    break
                chunk_ms = min(40, reply.audio_ms_per_sentence - sent_ms)
                await self.emit("audioOutput", {"contentId": cid, "content": _tone(chunk_ms, sent_ms), "role": "ASSISTANT"})
                sent_ms += chunk_ms
                self.usage[2] += 1
                if pace > 0:
                    try:
                        await asyncio.wait_for(self.interrupt.wait(), chunk_ms / 1000 * pace)
                    except (TimeoutError, asyncio.TimeoutError):
                        pass
            if interrupted:
                await self.emit("contentEnd", {"contentId": cid, "type": "AUDIO", "role": "ASSISTANT",
                                               "stopReason": "INTERRUPTED"})
                await self.block("TEXT", "ASSISTANT", "FINAL",
                                 [("textOutput", {"content": _INTERRUPTED, "role": "ASSISTANT"})], "INTERRUPTED")
                await self.usage_event()
                return
            await self.emit("contentEnd", {"contentId": cid, "type": "AUDIO", "role": "ASSISTANT", "stopReason": stop})
            await self.usage_event()
            await self.block("TEXT", "ASSISTANT", "FINAL",
                             [("textOutput", {"content": sentence, "role": "ASSISTANT"})], stop)
            self.usage[3] += len(sentence.split())
        await self.usage_event()


def _tone(ms: int, offset_ms: int) -> str:
    n = ms * 24
    start = offset_ms * 24
    data = b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * (start + i) / 24000))) for i in range(n))
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------- server


class FakeNovaSonic:
    """The fake endpoint; use :func:`running_fake_nova` to run one."""

    def __init__(self) -> None:
        self.codec = _Codec()
        self.streams: list[NovaStreamRecord] = []
        self.reply: Callable[[int, str | None, float], Reply] = default_reply
        self.turns = 0
        self.endpoint_ms = 300.0
        self.speech_threshold = 500
        self.audio_pace = 0.0  # 0: as fast as possible; 1.0: real time
        self.stream_limit_s: float | None = None
        self.stream_limit_error = ("ValidationException",
                                   "The stream exceeded its maximum duration of 8 minutes (time limit).")
        self.connect_errors: list[tuple[int, str, str]] = []  # (status, errortype, message)
        self.url = ""
        self.ca_file = ""
        self._states: list[_StreamState] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    @staticmethod
    def nova2(model_id: str) -> bool:
        return "nova-2-sonic" in model_id

    def inject_error(self, kind: str, message: str, stream: int = -1) -> None:
        """Fail a live stream with a modelled exception (``ThrottlingException``,
        ``ModelTimeoutException``, ``ValidationException``, …)."""
        st = self._states[stream]
        self._spawn(self._fail(st, kind, message))

    async def _fail(self, st: _StreamState, kind: str, message: str) -> None:
        await st.emit_exception(kind, message)
        st.rec.ended = f"error: {kind}"
        await st.out.put(None)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        raw_path = scope["raw_path"].decode()
        m = re.fullmatch(r"/model/([^/]+)/invoke-with-bidirectional-stream", raw_path)
        if scope["method"] != "POST" or m is None or scope.get("http_version") != "2":
            await _http_error(send, 404, "UnknownOperationException", f"no route for {scope['method']} {raw_path}")
            return
        from urllib.parse import unquote

        model_id = unquote(m.group(1))
        auth = _AUTH_RE.match(headers.get("authorization", ""))
        rec = NovaStreamRecord(raw_path, model_id, auth.group(1) if auth else None, auth.group(3) if auth else None,
                               {k: v for k, v in headers.items() if k != "authorization"})
        self.streams.append(rec)
        if auth is None or auth.group(4) != "bedrock":
            rec.ended = "rejected: auth"
            await _http_error(send, 403, "AccessDeniedException", "missing or invalid SigV4 Authorization for bedrock")
            return
        if headers.get("x-amz-content-sha256") != "STREAMING-AWS4-HMAC-SHA256-EVENTS":
            rec.ended = "rejected: content sha"
            await _http_error(send, 400, "ValidationException", "expected a signed event stream body")
            return
        if not model_id.startswith("amazon.nova") or "sonic" not in model_id:
            rec.ended = "rejected: model"
            await _http_error(send, 400, "ValidationException", f"The provided model identifier is invalid: {model_id}")
            return
        if self.connect_errors:
            status, kind, message = self.connect_errors.pop(0)
            rec.ended = f"rejected: {kind}"
            await _http_error(send, status, kind, message)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/vnd.amazon.eventstream"), (b"x-amzn-requestid", b"fake-request")]})
        out: asyncio.Queue[bytes | None] = asyncio.Queue()
        st = _StreamState(self, rec, out)
        self._states.append(st)

        async def writer() -> None:
            while True:
                data = await out.get()
                if data is None:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                await send({"type": "http.response.body", "body": data, "more_body": True})

        async def reader() -> None:
            from smithy_aws_event_stream.events import Event

            buf = b""
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    rec.ended = rec.ended or "client disconnected"
                    return
                buf += msg.get("body", b"")
                while len(buf) >= 4 and len(buf) >= int.from_bytes(buf[:4], "big"):
                    n = int.from_bytes(buf[:4], "big")
                    frame, buf = buf[:n], buf[n:]
                    envelope = Event.decode(io.BytesIO(frame))
                    assert envelope is not None
                    h = envelope.message.headers
                    if ":chunk-signature" not in h or ":date" not in h:
                        raise _GrammarError("input event is not a signed envelope")
                    if not envelope.message.payload:
                        continue  # the signed empty frame: end of input
                    nova = json.loads(self.codec.decode_input(envelope.message.payload))
                    rec.events.append(nova)
                    await st.handle(nova)
                if not msg.get("more_body", False):
                    rec.ended = rec.ended or ("closed" if st.session_ended else "input ended without sessionEnd")
                    if st.speaking is not None and not st.speaking.done():
                        st.speaking.cancel()
                    await out.put(None)
                    return

        async def limit() -> None:
            if self.stream_limit_s is None:
                return
            await asyncio.sleep(self.stream_limit_s)
            kind, message = self.stream_limit_error
            rec.ended = "time limit"
            await st.emit_exception(kind, message)
            await out.put(None)

        writer_task = asyncio.ensure_future(writer())
        side = [asyncio.ensure_future(reader()), asyncio.ensure_future(limit())]
        try:
            done, _ = await asyncio.wait([writer_task, side[0]], return_when=asyncio.FIRST_COMPLETED)
            if side[0] in done and side[0].exception() is not None:
                exc = side[0].exception()
                rec.violations.append(str(exc))
                rec.ended = f"violation: {exc}"
                await st.emit_exception("ValidationException", f"Invalid input: {exc}")
                await out.put(None)
            await writer_task
        finally:
            for t in [*side, writer_task]:
                t.cancel()
            if st.speaking is not None:
                st.speaking.cancel()


async def _http_error(send: Any, status: int, kind: str, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"x-amzn-errortype", f"{kind}:http://internal.amazon.com/coral/".encode()),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _tolerate_data_after_response() -> None:
    """Work around a hypercorn 0.18 bug: request DATA arriving for a stream whose
    response is already complete (our early error answers, exactly what
    Bedrock does on a refused request) raises KeyError inside hypercorn's
    connection task.  hypercorn guards the same case for END_STREAM; this
    guards DATA alike (acknowledged and dropped).  Test-fake only."""
    import h2.events
    from hypercorn.protocol import h2 as hyper_h2

    if getattr(hyper_h2.H2Protocol, "_rt_tolerant", False):
        return
    original = hyper_h2.H2Protocol._handle_events

    async def _handle_events(self: Any, events: list[Any]) -> None:
        kept = []
        new = {e.stream_id for e in events if isinstance(e, h2.events.RequestReceived)}
        for e in events:
            if isinstance(e, h2.events.DataReceived) and e.stream_id not in self.streams and e.stream_id not in new:
                try:
                    self.connection.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                except Exception:
                    pass
                continue
            kept.append(e)
        await original(self, kept)

    hyper_h2.H2Protocol._handle_events = _handle_events  # type: ignore[method-assign]
    hyper_h2.H2Protocol._rt_tolerant = True  # type: ignore[attr-defined]


@asynccontextmanager
async def running_fake_nova() -> AsyncIterator[FakeNovaSonic]:
    """Run a :class:`FakeNovaSonic` on ``https://127.0.0.1:PORT`` (HTTP/2)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    _tolerate_data_after_response()
    fake = FakeNovaSonic()
    with tempfile.TemporaryDirectory(prefix="rt-nova-") as tmp:
        ca, cert, key = make_test_ca(tmp)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        cfg = Config()
        cfg.bind = [f"fd://{sock.fileno()}"]
        cfg.certfile, cfg.keyfile = cert, key
        cfg.alpn_protocols = ["h2"]
        cfg.accesslog = None
        cfg.errorlog = None
        cfg.loglevel = "WARNING"
        cfg.graceful_timeout = 0.5
        fake.url, fake.ca_file = f"https://127.0.0.1:{port}", ca
        stop = asyncio.Event()
        server = asyncio.ensure_future(serve(fake.app, cfg, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
        try:
            await asyncio.sleep(0)  # the socket already listens; connections queue until served
            yield fake
        finally:
            stop.set()
            for t in list(fake._tasks):
                t.cancel()
            try:
                await asyncio.wait_for(server, 3)
            except (TimeoutError, asyncio.TimeoutError, Exception):
                server.cancel()
            try:
                sock.close()
            except OSError:  # hypercorn owns and closes the descriptor
                pass
