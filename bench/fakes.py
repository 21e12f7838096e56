"""Echo upstreams for the benchmark: an OpenAI Realtime fake and a Gemini Live fake.

They run in their own process (``python bench/fakes.py``) on picows + uvloop, the
cheapest WebSocket stack measured on this machine, so that the fake is never the
bottleneck of a run: every microsecond it spends is a microsecond the gateway or
the load generator cannot use on a 2-core box.

One listening port serves both protocols, routed by the request path:

* OpenAI Realtime (any path containing ``/realtime``, e.g. ``/v1/realtime?model=X``):
  on connect the fake sends ``session.created``; every ``input_audio_buffer.append``
  is answered by one ``response.output_audio.delta`` carrying exactly the same
  base64 audio (so a client can match chunks by content). The audio is located by
  a byte search instead of a JSON parse when the frame has the plain shape every
  client here sends; anything else falls back to ``json.loads``.
* Gemini Live (path ``/ws/google.ai.generativelanguage.<v>.GenerativeService.BidiGenerateContent``
  or ``...Constrained``): the first message must be ``setup`` and is answered with
  ``setupComplete``; every ``realtimeInput`` audio chunk (16 kHz pcm16; also the
  legacy ``mediaChunks`` form and snake_case keys) is answered by one
  ``serverContent.modelTurn.parts[0].inlineData`` chunk of 24 kHz pcm16 whose
  length matches the input's duration (1.5x the bytes for 16 kHz input; the rate
  is read from the Blob's mimeType). Server frames are binary, as Google sends
  them. The output samples are the input repeated to length: only the duration
  is meaningful, not the sound.

Plain HTTP on the same port: ``GET /health`` -> 200, ``GET /stats`` -> JSON
counters (connections, frames echoed, how many needed the slow JSON path).

The process prints one JSON line ``{"port": P, "pid": PID}`` on stdout when it
listens, and exits on SIGTERM/SIGINT or after ``--max-lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import signal
import sys
from typing import Any

from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

STATS: dict[str, int] = {
    "openai_connections": 0,
    "gemini_connections": 0,
    "rejected_handshakes": 0,
    "openai_appends": 0,
    "openai_slow_path": 0,
    "openai_other_events": 0,
    "gemini_audio_chunks": 0,
    "gemini_audio_in_ms": 0,  # duration of the audio received, for gateways that re-chunk
    "gemini_slow_path": 0,
    "gemini_other_messages": 0,
    "bad_frames": 0,
}

_SPACE = b" \t\r\n"


def b64_decoded_len(b64: bytes) -> int:
    """How many bytes padded base64 decodes to, from its length alone (no decoding)."""
    padding = 2 if b64.endswith(b"==") else 1 if b64.endswith(b"=") else 0
    return (len(b64) // 4) * 3 - padding


def find_string_value(payload: bytes, key: bytes, start: int = 0) -> bytes | None:
    """Return the raw bytes of the JSON string value of ``key`` (quoted key), or None.

    Only the plain case is accepted: ``"key"`` followed by optional spaces, a colon,
    optional spaces and a string without backslash escapes. Base64 never needs
    escapes, so None means "not the plain shape": the caller parses the JSON.
    A quoted key cannot occur inside another JSON string unescaped, so a match is
    a real key or a string value equal to the key (rejected by the colon check).
    """
    i = payload.find(key, start)
    if i < 0:
        return None
    j = i + len(key)
    n = len(payload)
    while j < n and payload[j] in _SPACE:
        j += 1
    if j >= n or payload[j] != 0x3A:  # ':'
        return None
    j += 1
    while j < n and payload[j] in _SPACE:
        j += 1
    if j >= n or payload[j] != 0x22:  # '"'
        return None
    end = payload.find(b'"', j + 1)
    if end < 0:
        return None
    value = payload[j + 1 : end]
    if b"\\" in value:
        return None
    return value


# ---------------------------------------------------------------- OpenAI fake

_APPEND_TYPES = (b'"type":"input_audio_buffer.append"', b'"type": "input_audio_buffer.append"')
_DELTA_HEAD = b'{"type":"response.output_audio.delta","event_id":"evt_'
_DELTA_MID = b'","response_id":"resp_bench","item_id":"item_bench","output_index":0,"content_index":0,"delta":"'
_DELTA_TAIL = b'"}'


def openai_session_created(model: str) -> str:
    """A GA ``session.created`` as the real API sends it on connect (trimmed to the essentials)."""
    return json.dumps(
        {
            "type": "session.created",
            "event_id": "evt_created",
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": "sess_bench",
                "model": model,
                "output_modalities": ["audio"],
                "instructions": "",
                "audio": {
                    "input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None},
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
                },
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
            },
        },
        separators=(",", ":"),
    )


class OpenAIEcho(WSListener):
    """One OpenAI Realtime session: echo each appended chunk as one audio delta."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.counter = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        STATS["openai_connections"] += 1
        transport.send(WSMsgType.TEXT, openai_session_created(self.model).encode())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is not WSMsgType.TEXT and kind is not WSMsgType.BINARY:
            return
        payload = frame.get_payload_as_bytes()
        audio: bytes | None = None
        if _APPEND_TYPES[0] in payload or _APPEND_TYPES[1] in payload:
            audio = find_string_value(payload, b'"audio"')
        if audio is None:
            audio = self._slow_path(transport, payload)
            if audio is None:
                return
        STATS["openai_appends"] += 1
        self.counter += 1
        transport.send(
            WSMsgType.TEXT,
            b"".join((_DELTA_HEAD, str(self.counter).encode(), _DELTA_MID, audio, _DELTA_TAIL)),
        )

    def _slow_path(self, transport: WSTransport, payload: bytes) -> bytes | None:
        """Parse the frame; return the audio of an append, answer or ignore anything else."""
        try:
            event = json.loads(payload)
        except ValueError:
            STATS["bad_frames"] += 1
            return None
        if not isinstance(event, dict):
            STATS["bad_frames"] += 1
            return None
        kind = event.get("type")
        if kind == "input_audio_buffer.append" and isinstance(event.get("audio"), str):
            STATS["openai_slow_path"] += 1
            return str(event["audio"]).encode()
        STATS["openai_other_events"] += 1
        if kind == "session.update":
            session = dict(event.get("session") or {})
            session.setdefault("type", "realtime")
            session.setdefault("model", self.model)
            reply = {"type": "session.updated", "event_id": f"evt_u{self.counter}", "session": session}
            transport.send(WSMsgType.TEXT, json.dumps(reply).encode())
        return None


# ---------------------------------------------------------------- Gemini fake

_GEMINI_INPUT_KEYS = (b'"realtimeInput"', b'"realtime_input"')
#: Gemini Live's output rate (pcm16), the rate of every reply's audio.
OUTPUT_RATE = 24000
_GEMINI_HEAD = b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"'
_GEMINI_TAIL = b'"}}]}}}'
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_AUDIO_IN_MS = [0.0]  # exact running total behind STATS["gemini_audio_in_ms"]


def input_rate(mime_type: bytes | None) -> int:
    """Sample rate declared in a Blob mimeType (``audio/pcm;rate=16000``); 16 kHz when absent."""
    if mime_type:
        i = mime_type.find(b"rate=")
        if i >= 0:
            digits = mime_type[i + 5 :].split(b";", 1)[0].strip()
            if digits.isdigit() and 8000 <= int(digits) <= 48000:
                return int(digits)
    return 16000


def to_24k_duration(pcm: bytes, rate: int) -> bytes:
    """A chunk of 24 kHz pcm16 as long (in time) as the input: 1.5x the bytes from 16 kHz.

    Not a real resampler (the fake's output sound is irrelevant, only its length
    and pacing matter); a real one would cost CPU that belongs to the gateway.
    Google resamples input it receives at other declared rates, so their duration
    is kept too (LiteLLM, for one, forwards 24 kHz audio as is).
    """
    if rate == OUTPUT_RATE:
        return pcm
    size = (len(pcm) * OUTPUT_RATE // rate) & ~1
    if size <= len(pcm):
        return pcm[:size]
    out = pcm
    while len(out) < size:
        out += pcm[: size - len(out)]
    return out


def gemini_audio_reply(data_b64: bytes, rate: int = 16000) -> bytes | None:
    """Build the serverContent frame answering one base64 pcm16 chunk.

    Audio already at the output rate whose text has the shape of standard
    padded base64 of whole samples is echoed as the same text: decoding and
    re-encoding it would change no byte, and on this shared machine the fake's
    CPU is taken from the gateway under test (the OpenAI echo fake does not
    decode either).  Its alphabet is not checked: the gateways under test
    forward what the load generator sends, which is valid.  Other text is
    decoded as Google's JSON does (either alphabet, padding optional).
    """
    if rate == OUTPUT_RATE and not len(data_b64) & 3 and b"-" not in data_b64 and b"_" not in data_b64:
        nbytes = b64_decoded_len(data_b64)
        if not nbytes & 1:
            _AUDIO_IN_MS[0] += nbytes * 500 / rate
            STATS["gemini_audio_in_ms"] = int(_AUDIO_IN_MS[0])
            return b"".join((_GEMINI_HEAD, data_b64, _GEMINI_TAIL))
    if b"-" in data_b64 or b"_" in data_b64:
        data_b64 = data_b64.translate(_URLSAFE)
    data_b64 += b"=" * (-len(data_b64) % 4)
    try:
        pcm = binascii.a2b_base64(data_b64)
    except binascii.Error:
        return None
    _AUDIO_IN_MS[0] += len(pcm) * 500 / rate
    STATS["gemini_audio_in_ms"] = int(_AUDIO_IN_MS[0])
    return b"".join((_GEMINI_HEAD, base64.b64encode(to_24k_duration(pcm, rate)), _GEMINI_TAIL))


class GeminiEcho(WSListener):
    """One Gemini Live session: setup -> setupComplete, then audio in -> audio out."""

    def __init__(self) -> None:
        self.setup_done = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        STATS["gemini_connections"] += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is not WSMsgType.TEXT and kind is not WSMsgType.BINARY:
            return
        payload = frame.get_payload_as_bytes()
        if self.setup_done and (_GEMINI_INPUT_KEYS[0] in payload or _GEMINI_INPUT_KEYS[1] in payload):
            data = find_string_value(payload, b'"data"')
            if data is not None and payload.count(b'"data"') == 1:
                mime = find_string_value(payload, b'"mimeType"') or find_string_value(payload, b'"mime_type"')
                reply = gemini_audio_reply(data, input_rate(mime))
                if reply is not None:
                    STATS["gemini_audio_chunks"] += 1
                    transport.send(WSMsgType.BINARY, reply)
                    return
        self._slow_path(transport, payload)

    def _slow_path(self, transport: WSTransport, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            STATS["bad_frames"] += 1
            transport.send_close(WSCloseCode.INVALID_TEXT, b"Request contains an invalid argument.")
            transport.disconnect()
            return
        if not isinstance(message, dict):
            STATS["bad_frames"] += 1
            return
        if not self.setup_done:
            if "setup" not in message:
                # Google closes the socket when the first message is not setup.
                transport.send_close(WSCloseCode.INVALID_TEXT, b"First message must be setup.")
                transport.disconnect()
                return
            self.setup_done = True
            transport.send(WSMsgType.BINARY, b'{"setupComplete":{}}')
            return
        realtime = message.get("realtimeInput") or message.get("realtime_input")
        if not isinstance(realtime, dict):
            STATS["gemini_other_messages"] += 1
            return
        blobs: list[Any] = []
        if isinstance(realtime.get("audio"), dict):
            blobs.append(realtime["audio"])
        for key in ("mediaChunks", "media_chunks"):
            if isinstance(realtime.get(key), list):
                blobs.extend(realtime[key])
        if not blobs:
            STATS["gemini_other_messages"] += 1
            return
        for blob in blobs:
            data = blob.get("data") if isinstance(blob, dict) else None
            if not isinstance(data, str):
                continue
            mime = blob.get("mimeType") or blob.get("mime_type")
            rate = input_rate(mime.encode() if isinstance(mime, str) else None)
            reply = gemini_audio_reply(data.encode(), rate)
            if reply is not None:
                STATS["gemini_slow_path"] += 1
                STATS["gemini_audio_chunks"] += 1
                transport.send(WSMsgType.BINARY, reply)


# ---------------------------------------------------------------- routing


def _query_value(path: str, name: str) -> str | None:
    if "?" not in path:
        return None
    from urllib.parse import parse_qs

    values = parse_qs(path.split("?", 1)[1]).get(name)
    return values[0] if values else None


def route(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
    """Pick the fake by path; plain GETs for /health and /stats get an HTTP answer."""
    path = request.path.decode("latin-1")
    bare = path.split("?", 1)[0]
    is_upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
    if not is_upgrade:
        if bare == "/health":
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok"), None)
        if bare == "/stats":
            body = json.dumps(STATS).encode()
            response = WSUpgradeResponse.create_ok_response(body, {"Content-Type": "application/json"})
            return WSUpgradeResponseWithListener(response, None)
        return None
    if "BidiGenerateContent" in bare:
        has_key = bool(
            request.headers.get("x-goog-api-key")
            or request.headers.get("Authorization")
            or _query_value(path, "key")
            or _query_value(path, "access_token")
        )
        if not has_key:
            STATS["rejected_handshakes"] += 1
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_error_response(401, b"missing API key"), None)
        return GeminiEcho()
    if bare.endswith("/realtime"):
        has_key = bool(request.headers.get("Authorization") or request.headers.get("api-key"))
        if not has_key:
            STATS["rejected_handshakes"] += 1
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_error_response(401, b"missing API key"), None)
        return OpenAIEcho(_query_value(path, "model") or "gpt-realtime")
    return None


async def serve(host: str, port: int, max_lifetime: float) -> None:
    """Listen, announce the port on stdout, and stop on a signal or at the lifetime bound."""
    server = await ws_create_server(route, host, port, websocket_handshake_timeout=10)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": bound, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=max_lifetime)
    except TimeoutError:
        sys.stderr.write(f"fakes: max lifetime {max_lifetime}s reached, exiting\n")
    server.close()
    sys.stderr.write("fakes: " + json.dumps(STATS) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-lifetime", type=float, default=3600.0, help="exit after this many seconds")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fakes listen on loopback only")
    asyncio.run(serve(args.host, args.port, args.max_lifetime), loop_factory=loop_factory(not args.no_uvloop))
    return 0


def loop_factory(use_uvloop: bool = True) -> Any:
    """uvloop's loop when asked for and installed, else asyncio's default."""
    if use_uvloop:
        try:
            import uvloop

            return uvloop.new_event_loop
        except ImportError:
            pass
    return None


if __name__ == "__main__":
    sys.exit(main())
