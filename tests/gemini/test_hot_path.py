"""The audio hot path's shortcuts change nothing but the cost.

rt-gemini recognises the steady-state audio frames in both directions without
the general machinery: Gemini's one-part ``inlineData`` audio messages without
``json.loads`` or a dict walk (:func:`rt_gemini.wire.server_audio_part` and
``GeminiSide._streaming_audio``), and the client's standard base64 without
decoding it (:func:`rt_gemini.input_audio.plain_b64_len`).

Each scenario here runs twice on fresh translators -- once as shipped, once
with both shortcuts switched off -- and every output must be identical byte
for byte: each event's text as a GA and as a beta client receives it, each
frame to Gemini, each timer, close and error.  The scenarios mix the steady
state with everything around it: the first audio of a reply, text and
transcription parts, held and dropped replies, format conversion, unusual but
valid JSON spellings, and invalid input.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from rt_core import ClientEventError, Close, Event, Schedule, TimerFired, ToClient, ToUpstream, UpstreamOpened, dumps
from rt_core.edge import ClientEdge
from rt_gemini import input_audio, wire
from rt_gemini.translator import GeminiTranslator
from tests.fakes.gemini_live import tone24k

from .support import TURN_COMPLETE, make_translator, pcm16

Script = Callable[["Recorder"], None]

AUDIO_MIME = "audio/pcm;rate=24000"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def audio_msg(data: str, mime: str = AUDIO_MIME) -> dict[str, Any]:
    return {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": mime, "data": data}}]}}}


def compact(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def spaced(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode()


CHUNK = b64(tone24k(20))
CHUNK2 = b64(tone24k(20, hz=500))


class Recorder:
    """Feeds one translator and writes down everything observable, as text.

    ``quick``: feed it as the relay's quick routes do (docs/hooks.md): each
    append's audio text, read by the client edge, to ``quick_append`` and each
    Gemini frame to ``quick_outbound`` first, and only what they decline to
    ``inbound``/``outbound``.
    """

    def __init__(self, translator: GeminiTranslator, quick: bool = False) -> None:
        self.t = translator
        self.quick = quick
        self.quick_taken = {"appends": 0, "deltas": 0}
        self.ga = ClientEdge("ga", max_event_bytes=1 << 24, ids=lambda p: "unused")
        self.beta = ClientEdge("beta", max_event_bytes=1 << 24, ids=lambda p: "unused")
        self.out: list[Any] = []

    def _record(self, actions: list[Any] | None) -> None:
        for a in actions or []:
            if isinstance(a, ToClient):
                ev = a.event
                text = ev.text if isinstance(ev, Event) else dumps(ev)
                self.out.append(("client", text, self.ga.outbound(Event.from_text(text, trusted=True)),
                                 self.beta.outbound(Event.from_text(text, trusted=True))))
            elif isinstance(a, ToUpstream):
                f = a.frame
                self.out.append(("upstream", f if isinstance(f, (str, bytes)) else repr(f)))
            elif isinstance(a, Schedule):
                self.out.append(("schedule", a.delay, a.signal.name))
            elif isinstance(a, Close):
                self.out.append(("close", a.code, a.reason, a.error))
            else:  # pragma: no cover
                raise AssertionError(f"unexpected action {a!r}")

    def client(self, data: dict[str, Any]) -> None:
        if self.quick:
            audio = self.ga.append_audio(dumps(data))
            frame = None if audio is None else self.t.quick_append(audio)
            if frame is not None:
                self.quick_taken["appends"] += 1
                self._record([ToUpstream(frame)])
                return
        try:
            self._record(self.t.inbound(Event.from_data(data)))
        except ClientEventError as exc:
            self.out.append(("error", type(exc).__name__, str(exc), exc.code, exc.param))

    def gemini(self, frame: bytes | str | dict[str, Any]) -> None:
        raw = spaced(frame) if isinstance(frame, dict) else frame
        if self.quick:
            text = self.t.quick_outbound(raw)
            if text is not None:
                assert Event.from_text(text).type in self.t.quick_outbound_types
                self.quick_taken["deltas"] += 1
                self._record([ToClient(Event("response.output_audio.delta", text))])
                return
        self._record(self.t.outbound(raw))

    def timer(self, name: str) -> None:
        self._record(self.t.inbound(TimerFired(name)))

    def start(self, session: dict[str, Any] | None = None) -> None:
        self._record(self.t.outbound(UpstreamOpened()))
        self.client({"type": "session.update", "session": {"type": "realtime", **(session or {})}})
        self.gemini(b'{"setupComplete":{}}')
        self.gemini({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})


def general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch both shortcuts off: every frame takes today's general path."""
    monkeypatch.setattr(wire, "server_audio_part", lambda frame: None)
    monkeypatch.setattr(input_audio, "plain_b64_len", lambda text: -1)


def run_both(script: Script, monkeypatch: pytest.MonkeyPatch, **opts: Any) -> list[Any]:
    """Run ``script`` as shipped, through the quick routes, and with every
    shortcut off: the three must agree output for output."""
    fast = Recorder(make_translator(**opts))
    script(fast)
    quick = Recorder(make_translator(**opts), quick=True)
    script(quick)
    with monkeypatch.context() as m:
        general_only(m)
        slow = Recorder(make_translator(**opts))
        script(slow)
    for other in (fast, quick):
        assert len(other.out) == len(slow.out)
        for i, (a, b) in enumerate(zip(other.out, slow.out, strict=True)):
            assert a == b, f"output {i} differs{' (quick routes)' if other.quick else ''}"
    return fast.out


def client_events(out: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(o[1]) for o in out if o[0] == "client"]


def types_of(out: list[Any]) -> list[str]:
    return [e["type"] for e in client_events(out)]


def appends(r: Recorder, n: int = 3) -> None:
    for i in range(n):
        r.client({"type": "input_audio_buffer.append", "audio": b64(pcm16(20, hz=200 + 40 * i))})


# ---------------------------------------------------------------------- scenarios


def steady_reply(r: Recorder) -> None:
    """A server-VAD reply: first audio (general), then steady audio in every spelling."""
    r.start({})
    appends(r)
    r.gemini(compact(audio_msg(CHUNK)))  # the first audio of a reply: response + item + part
    r.gemini(compact(audio_msg(CHUNK2)))
    r.gemini(spaced(audio_msg(CHUNK)))
    r.gemini(json.dumps(audio_msg(CHUNK), indent=2).encode() + b"\n")
    r.gemini(b"\r\n " + compact(audio_msg(CHUNK2)).replace(b",", b" ,\t").replace(b":", b"\n:\r ") + b" \n")
    r.gemini(compact(audio_msg(CHUNK)).decode())  # a text frame
    r.gemini({"serverContent": {"outputTranscription": {"text": "Hello"}}})
    appends(r, 2)
    r.gemini(compact(audio_msg(CHUNK, "audio/pcm;rate=16000")))
    r.gemini(compact(audio_msg(CHUNK, "audio/L16")))
    r.gemini(compact(audio_msg(CHUNK)).replace(b"/", b"\\/"))  # JSON escapes in the data and MIME type
    r.gemini(compact(audio_msg(CHUNK.replace("+", "-").replace("/", "_").rstrip("="))))  # URL-safe, unpadded
    r.gemini(compact(audio_msg(CHUNK[:-4])))  # not whole samples
    r.gemini(compact(audio_msg("")))
    r.gemini(compact(audio_msg("not base64 !")))
    r.gemini({"serverContent": {"outputTranscription": {"text": " there."}}})
    r.gemini({"serverContent": {"generationComplete": True}})
    r.gemini(TURN_COMPLETE)
    (item_id,) = [e["item"]["id"] for e in client_events(r.out) if e["type"] == "response.output_item.added"]
    # The audio length the client was told about: in the error's message, and the bound of a valid truncate.
    r.client({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 10**6})
    r.client({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 220})


def test_steady_state_audio_in_every_spelling(monkeypatch):
    out = run_both(steady_reply, monkeypatch)
    types = types_of(out)
    assert types.count("response.created") == 1 and types[-2:] == ["response.done", "conversation.item.truncated"]
    assert types.count("response.output_audio.delta") >= 8
    assert out[-2][0] == "error" and "of 220ms" in out[-2][2]


def unusual_frames(r: Recorder) -> None:
    """Valid JSON that is not the one-part shape, and malformed frames, mid-reply."""
    r.start({})
    r.gemini(spaced(audio_msg(CHUNK)))
    msg = audio_msg(CHUNK)
    blob = msg["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
    r.gemini(json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": blob["data"],
                                                                                   "mimeType": AUDIO_MIME}}]}}}).encode())
    r.gemini(json.dumps({**msg, "usageMetadata": {"totalTokenCount": 3}}).encode())
    r.gemini(json.dumps({"serverContent": {**msg["serverContent"], "generationComplete": False}}).encode())
    r.gemini(json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": blob}, {"inlineData": blob}],
                                                         "role": "model"}}}).encode())
    r.gemini(json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": blob}, {"text": "aside"}]}}}).encode())
    r.gemini(json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": blob, "thought": True}]}}}).encode())
    r.gemini(json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": blob}]},
                         "outputTranscription": {"text": "Hi"}}}).encode())
    r.gemini(compact(msg) + compact(msg))  # two messages in one frame: not JSON
    r.gemini(compact(msg)[:-1])  # truncated
    r.gemini(compact(msg) + b"}")  # one brace too many
    r.gemini(compact(audio_msg("AAAA\x01AAA")).replace(b"\\u0001", b"\x01"))  # raw control character
    r.gemini(compact(audio_msg("AAAA\u00e9AA")))  # \u00e9 escape: valid JSON, not base64
    r.gemini(compact(audio_msg("AAAA")).replace(b"AAAA", "AAéA".encode()))  # raw UTF-8
    r.gemini(compact(audio_msg("AAAA")).replace(b"AAAA", b"AA\xffA"))  # not UTF-8
    r.gemini(b"\xef\xbb\xbf" + compact(msg))  # UTF-8 BOM
    r.gemini(compact(msg).decode().encode("utf-16"))
    r.gemini(bytearray(compact(msg)))
    r.gemini(memoryview(compact(msg)))
    r.gemini(compact(audio_msg(CHUNK)).replace(b'"serverContent"', b'"\\u0073erverContent"'))
    r.gemini(TURN_COMPLETE)


def test_unusual_spellings_and_shapes_match_the_general_path(monkeypatch):
    out = run_both(unusual_frames, monkeypatch)
    assert "error" in types_of(out)  # the malformed frames were reported, not dropped


def interrupted_reply(r: Recorder) -> None:
    """Barge-in: the rest of the turn is dropped (suppressed), then a new reply starts."""
    r.start({"audio": {"input": {"transcription": {"model": "whisper-1"}}}})
    appends(r)
    r.gemini({"serverContent": {"inputTranscription": {"text": "hello"}}})
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini(compact(audio_msg(CHUNK2)))
    r.gemini({"serverContent": {"interrupted": True}})
    r.gemini(compact(audio_msg(CHUNK)))  # dropped
    r.gemini(compact(audio_msg(CHUNK2)))
    r.gemini(TURN_COMPLETE)
    appends(r, 2)
    r.gemini({"serverContent": {"inputTranscription": {"text": "again", "finished": True}}})
    r.gemini(compact(audio_msg(CHUNK)))  # a new reply
    r.gemini(compact(audio_msg(CHUNK2)))
    r.client({"type": "response.cancel"})
    r.gemini(compact(audio_msg(CHUNK)))  # dropped: cancelled
    r.gemini(TURN_COMPLETE)


def test_interrupted_and_cancelled_replies(monkeypatch):
    out = run_both(interrupted_reply, monkeypatch)
    assert types_of(out).count("response.done") == 2


def text_reply_with_audio(r: Recorder) -> None:
    """A text session: audio parts are dropped, text parts stream."""
    r.start({"output_modalities": ["text"]})
    r.client({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                            "content": [{"type": "input_text", "text": "hi"}]}})
    r.client({"type": "response.create"})
    r.gemini({"serverContent": {"modelTurn": {"parts": [{"text": "Hel"}]}}})
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini({"serverContent": {"modelTurn": {"parts": [{"text": "lo"}]}}})
    r.gemini(compact(audio_msg(CHUNK2)))
    r.gemini(TURN_COMPLETE)


def test_text_session_drops_audio_identically(monkeypatch):
    out = run_both(text_reply_with_audio, monkeypatch)
    assert "response.output_audio.delta" not in types_of(out)


def held_then_claimed(r: Recorder) -> None:
    """create_response false: Gemini's reply is held until response.create, then replayed."""
    r.start({"audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
    appends(r, 6)
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini(compact(audio_msg(CHUNK2)))
    r.client({"type": "response.create"})
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini(TURN_COMPLETE)


def test_held_reply(monkeypatch):
    out = run_both(held_then_claimed, monkeypatch)
    assert types_of(out).count("response.output_audio.delta") == 3


def tool_call_then_audio(r: Recorder) -> None:
    """A function call ends the response; the audio of the next turn starts a new one."""
    r.start({"tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]})
    appends(r)
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini({"toolCall": {"functionCalls": [{"id": "c1", "name": "f", "args": {}}]}})
    r.gemini(compact(audio_msg(CHUNK2)))  # after the call, within the same Gemini turn
    r.gemini(TURN_COMPLETE)
    r.client({"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c1",
                                                            "output": "{}"}})
    r.client({"type": "response.create"})
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini(compact(audio_msg(CHUNK2)))
    r.gemini(TURN_COMPLETE)


def test_tool_call_around_audio(monkeypatch):
    run_both(tool_call_then_audio, monkeypatch)


def g711_output(r: Recorder) -> None:
    """A converted output format: the audio is decoded and re-encoded on both paths."""
    r.start({"audio": {"output": {"format": {"type": "audio/pcmu"}}}})
    appends(r)
    for chunk in (CHUNK, CHUNK2, CHUNK, "!!!!"):
        r.gemini(compact(audio_msg(chunk)))
    r.gemini(TURN_COMPLETE)


def test_converted_output_format(monkeypatch):
    run_both(g711_output, monkeypatch)


def client_audio_spellings(r: Recorder) -> None:
    """The client's audio: standard, URL-safe, unpadded, split samples, invalid, empty."""
    r.start({})
    pcm = pcm16(20)
    for audio in (b64(pcm), b64(pcm[:-1]), b64(pcm[1:]), b64(pcm[:-2]) + "\n",
                  b64(pcm).replace("+", "-").replace("/", "_"), b64(pcm[:-1]).rstrip("="), "", "====",
                  "AA==AA==", "QR==", "QUJDQUJDQ===", "QUJDQUJD====", "A", "é" * 4, "not base64", b64(pcm)[:-1], 42, None, b64(pcm)):
        r.client({"type": "input_audio_buffer.append", "audio": audio})
    r.client({"type": "input_audio_buffer.commit"})


def test_client_audio_spellings(monkeypatch):
    out = run_both(client_audio_spellings, monkeypatch)
    assert any(o[0] == "error" for o in out)
    assert sum(1 for o in out if o[0] == "upstream" and o[1].startswith(wire.AUDIO_FRAME_PREFIX)) >= 6


@pytest.mark.parametrize("session", [
    {"audio": {"input": {"turn_detection": None}}},  # manual turns: decoded and kept until commit
    {"audio": {"input": {"format": {"type": "audio/pcmu"}}}},  # G.711 in: decoded
])
def test_client_audio_in_other_modes(monkeypatch, session):
    def script(r: Recorder) -> None:
        r.start(session)
        appends(r, 6)
        r.client({"type": "input_audio_buffer.append", "audio": "@@@@"})
        r.client({"type": "input_audio_buffer.commit"})
        r.client({"type": "response.create"})
        r.gemini(compact(audio_msg(CHUNK)))
        r.gemini(compact(audio_msg(CHUNK2)))
        r.gemini(TURN_COMPLETE)

    run_both(script, monkeypatch)


def test_before_setup_complete_the_audio_waits_in_the_outbox(monkeypatch):
    def script(r: Recorder) -> None:
        r._record(r.t.outbound(UpstreamOpened()))
        appends(r, 3)  # sends setup, then buffers
        r.gemini(compact(audio_msg(CHUNK)))  # Gemini audio before setupComplete (no reply open)
        r.gemini(b'{"setupComplete":{}}')
        appends(r, 2)
        r.gemini(compact(audio_msg(CHUNK)))
        r.gemini(compact(audio_msg(CHUNK2)))

    run_both(script, monkeypatch, platform="vertex")


# ---------------------------------------------------------------------- the shortcuts are taken


def test_steady_audio_frames_take_the_shortcut(monkeypatch):
    """In the steady state neither json.loads nor the dict walk runs, in every
    usual spelling, and the delta is what the general path makes."""
    r = Recorder(make_translator())
    r.start({})
    r.gemini(compact(audio_msg(CHUNK)))

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the general path ran")

    monkeypatch.setattr(wire, "parse_server_frame", boom)
    monkeypatch.setattr(GeminiTranslator, "_message", boom)
    for frame in (compact(audio_msg(CHUNK2)), spaced(audio_msg(CHUNK2)),
                  json.dumps(audio_msg(CHUNK2), indent=2).encode(), compact(audio_msg(CHUNK2)).decode()):
        before = len(r.out)
        r.gemini(frame)
        (delta,) = client_events(r.out[before:])
        assert r.out[-1][1] == dumps(delta)  # compact, as every event rt writes
        assert delta["type"] == "response.output_audio.delta" and delta["delta"] == CHUNK2
        assert list(delta) == ["type", "event_id", "response_id", "item_id", "output_index", "content_index",
                               "delta"]


def test_steady_frames_take_the_quick_routes():
    """The relay's quick routes (fed as Recorder(quick=True) feeds them) take
    every steady-state append and audio frame; the rest go the general way."""
    r = Recorder(make_translator(), quick=True)
    steady_reply(r)
    # All five appends come after setupComplete.  Of the thirteen audio frames,
    # all but the first (it opens the reply), the one whose MIME type has a
    # JSON escape (server_audio_part leaves it to json.loads) and the empty one.
    assert r.quick_taken == {"appends": 5, "deltas": 10}


def test_standard_client_audio_is_not_decoded(monkeypatch):
    r = Recorder(make_translator())
    r.start({})

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded")

    monkeypatch.setattr(input_audio.binascii, "a2b_base64", boom)
    chunk = b64(pcm16(20))
    r.client({"type": "input_audio_buffer.append", "audio": chunk})
    assert r.out[-1] == ("upstream", wire.audio_frame(chunk, 24000))


def escaped_audio(r: Recorder) -> None:
    """Mid-reply, audio strings with JSON escapes: what they decode to is
    checked before it is spliced into the client's event."""
    r.start({})
    r.gemini(compact(audio_msg(CHUNK)))
    r.gemini(compact(audio_msg(CHUNK)).replace(CHUNK.encode(), CHUNK.replace("/", "\\/").encode()))  # valid base64
    r.gemini(compact(audio_msg('AAAA","x":"y')))
    r.gemini(compact(audio_msg("AAAA\\AAA")))
    r.gemini(compact(audio_msg("AAAA\nAAA")))
    r.gemini(compact(audio_msg("AAAA\u0000AAA")))
    r.gemini(compact(audio_msg("AA")).replace(b"AA", b"A\\ud800A"))
    r.gemini(TURN_COMPLETE)


def test_escaped_audio_never_breaks_the_clients_json(monkeypatch, caplog):
    out = run_both(escaped_audio, monkeypatch)
    deltas = [e["delta"] for e in client_events(out) if e["type"] == "response.output_audio.delta"]
    assert deltas == [CHUNK, CHUNK]  # the escaped slashes arrive unescaped; the rest is dropped
    for o in out:
        if o[0] == "client":
            for text in o[1:]:  # rt's text, and what a GA and a beta client are sent (None: as it is)
                if text is not None:
                    json.loads(text)
    assert caplog.text.count("not valid base64") == 3 * 4  # each dropped frame is logged, on all three runs
    # The unpaired surrogate escape is refused where the frame is parsed, and the client told.
    assert [e["error"]["code"] for e in client_events(out) if e["type"] == "error"] == ["upstream_protocol_error"]


# ---------------------------------------------------------------------- the recognisers themselves


def test_server_audio_part_agrees_with_json_loads():
    msg = audio_msg(CHUNK)
    frames: list[bytes | str] = [
        compact(msg), spaced(msg), json.dumps(msg, indent=4).encode(), json.dumps(msg, indent="\t").encode(),
        compact(msg).decode(), b" \r\n\t" + compact(msg) + b"\n",
        compact(audio_msg(CHUNK, "audio/pcm;rate=16000")), compact(audio_msg("")),
        compact(msg).replace(CHUNK.encode(), CHUNK.replace("/", "\\/").encode()),
        compact(audio_msg("\u2603 \" \\ \n")), compact(msg).replace(b"/", b"\\/"),
        compact(msg)[:-1], compact(msg) + b",", compact(msg) + b"{}", b"[" + compact(msg) + b"]",
        compact(audio_msg(CHUNK, "image/png")), compact(msg).replace(b'"data"', b'"Data"'),
        compact(msg).replace(b":{", b":{\f"), compact(msg).replace(b'"}}', b'","x":1}}'),
        json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": CHUNK, "mimeType": AUDIO_MIME}}]}}}),
        compact(audio_msg("AA\x00A")).replace(b"\\u0000", b"\x00"),
        compact(msg).replace(b"rate=", b"rate\\u003d"), compact(msg).replace(b"rate=", b"rate\t"),
    ]
    recognised = 0
    for frame in frames:
        part = wire.server_audio_part(frame)
        if part is None:
            continue
        recognised += 1
        assert wire.audio_part_message(*part) == json.loads(frame), frame[:80]
        # What it returns is spliced into the client's event as it is: nothing JSON would escape.
        assert json.dumps(part[1], ensure_ascii=False) == f'"{part[1]}"'
    assert recognised == 8 and len(frames) - recognised == 15


@pytest.mark.parametrize("data", ["\\/", '\\"', "\\\\", "\\n", "\\u0041", "\\ud800"])
def test_server_audio_part_leaves_escaped_audio_to_the_parse(data):
    """Escapes decode to what must not be spliced into JSON (a quote, a
    backslash, a newline, a lone surrogate), so a frame whose audio holds
    one is left to the general path, which checks what they decode to."""
    frame = compact(audio_msg("AAAA")).replace(b"AAAA", b"AA" + data.encode() + b"AA")
    json.loads(frame)  # valid JSON
    assert wire.server_audio_part(frame) is None


def test_plain_b64_len_accepts_only_what_a_strict_decode_accepts():
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n!\u00e9\x00"
    padding_heavy = ["QUJDQUJDQ===", "QUJDQUJD====", "====", "A===", "QQ==", "QUI=", "QUJD", "", "QQ=A", "=QUJ"]
    accepted = 0
    for i in range(20000):
        if i < len(padding_heavy):
            text = padding_heavy[i]
        elif i % 2:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 13)))
        else:
            text = b64(rng.randbytes(rng.randint(0, 10)))
        try:
            expected = len(binascii.a2b_base64(text, strict_mode=True))
        except (binascii.Error, ValueError):
            expected = None
        n = input_audio.plain_b64_len(text)
        if n >= 0:
            accepted += 1
            assert n == expected, text
        elif i % 2 == 0 and i >= len(padding_heavy):
            raise AssertionError(f"standard base64 {text!r} not recognised")
    assert accepted > 10000
