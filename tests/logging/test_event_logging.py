"""Event logging end to end: the official openai SDK through the gateway to the
fake OpenAI upstream, with the built-in JSON-lines and SQLite sinks enabled
by config, plus plugin sinks that raise or block."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI

from rt_core import hookimpl, key_fingerprint
from rt_core.cli import build_parser
from rt_core.store import open_store, recent_sessions, session_events
from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import b64, collect_until, next_event, pcm16_tone

pytestmark = pytest.mark.anyio

UPSTREAM_KEY = "sk-upstream-very-secret-0001"
CLIENT_KEY = "sk-client-very-secret-0002"


def cfg(api_base: str, **litellm_settings: Any) -> dict[str, Any]:
    return {"model_list": [{"model_name": "gpt-realtime", "model_info": {"id": "primary"},
                            "litellm_params": {"model": "openai/gpt-realtime", "api_key": UPSTREAM_KEY,
                                               "api_base": api_base}}],
            "litellm_settings": litellm_settings}


class Capture:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @hookimpl
    def on_log_event(self, record: Any) -> None:
        self.records.append(record.to_dict())

    def events(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "event"]


async def wait_sessions_closed(gw: Any) -> None:
    with anyio.fail_after(5):
        while gw.gateway.relays:
            await anyio.sleep(0.02)


async def audio_session(gw: Any, audio: bytes) -> list[dict[str, Any]]:
    """Audio in, audio out, then a text turn; returns the events received."""
    client = AsyncOpenAI(api_key=CLIENT_KEY, base_url=gw.http_url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        received = [await next_event(conn, "ga")]
        await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"]})
        received.append(await next_event(conn, "ga"))
        for i in range(0, len(audio), 4800):
            await conn.input_audio_buffer.append(audio=b64(audio[i:i + 4800]))
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        await collect_until(conn, "ga", into=received)
        await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                  "content": [{"type": "input_text", "text": "and in text?"}]})
        await conn.response.create(response={"output_modalities": ["text"]})
        await collect_until(conn, "ga", into=received)
    await wait_sessions_closed(gw)
    return received


def secrets_and_audio(audio: bytes, received: list[dict[str, Any]]) -> list[str]:
    """Strings that must appear in no sink: both keys and pieces of every audio payload."""
    pieces = [UPSTREAM_KEY, CLIENT_KEY]
    sent = b64(audio)
    pieces += [sent[i:i + 40] for i in range(0, len(sent) - 40, 997)]
    for ev in received:
        if ev["type"] == "response.output_audio.delta":
            pieces.append(ev["delta"][8:48])
    return pieces


def store_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


async def test_full_session_in_both_sinks_redacted(tmp_path, capsys):
    jsonl, db = tmp_path / "events.jsonl", tmp_path / "store" / "rt.db"
    audio = pcm16_tone(400)
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running():
        config = cfg(fake.api_base, logged_real_time_event_types="*", rt_log_jsonl=str(jsonl), rt_log_sqlite=str(db))
        async with running_gateway(config) as gw:
            received = await audio_session(gw, audio)
            assert gw.gateway.logger.close(5)
            assert gw.gateway.logger.dropped == 0 and gw.gateway.logger.errors == 0

    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    sid = lines[0]["session_id"]
    assert sid.startswith("sess_") and {r["session_id"] for r in lines} == {sid}
    assert lines[0]["kind"] == "session.start" and lines[-1]["kind"] == "session.end"
    assert [r["kind"] for r in lines[1:-1]] == ["event"] * (len(lines) - 2)

    # Every record names the group, the deployment (no key) and the client (a hash, not the key).
    for r in lines:
        assert r["model_group"] == "gpt-realtime"
        assert r["deployment"] == "openai/gpt-realtime (primary)"
        assert r["client"] == key_fingerprint(CLIENT_KEY)

    start = lines[0]["payload"]
    assert start["dialect"] == "ga" and start["routing"]["deployment_id"] == "primary"
    assert start["routing"]["attempts"][0]["ok"] is True

    events = lines[1:-1]
    by_dir = {(r["direction"], r["event_type"]) for r in events}
    for expected in [("upstream->client", "session.created"), ("client->upstream", "session.update"),
                     ("client->upstream", "input_audio_buffer.append"), ("client->upstream", "response.create"),
                     ("upstream->client", "response.output_audio.delta"), ("upstream->client", "response.done")]:
        assert expected in by_dir
    appends = [r["payload"]["audio"] for r in events if r["event_type"] == "input_audio_buffer.append"]
    assert appends == ["<base64: 4800 bytes>"] * 4
    deltas = [r["payload"]["delta"] for r in events if r["event_type"] == "response.output_audio.delta"]
    assert deltas and all(d.startswith("<base64: ") for d in deltas)
    # Text is kept: it is what the record is for.
    (item,) = [r["payload"]["item"] for r in events if r["event_type"] == "conversation.item.create"]
    assert item["content"] == [{"type": "input_text", "text": "and in text?"}]
    transcript = [r["payload"]["transcript"] for r in events
                  if r["event_type"] == "response.output_audio_transcript.done"]
    assert transcript == ["Hello from the fake."]

    end = lines[-1]["payload"]
    assert end["close_code"] == 1000
    assert end["duration_s"] > 0
    assert end["usage"]["total_tokens"] == 60 and end["usage"]["input_tokens"] == 20
    assert end["usage"]["output_token_details"]["audio_tokens"] == 30
    assert end["frames_in"] == 9 and end["bytes_in"] > len(b64(audio))
    assert end["frames_out"] == len(received) and end["bytes_out"] > 0
    assert end["log_dropped"] == 0

    # SQLite: the same session, with totals; and the events in order.
    conn = open_store(db, create=False)
    try:
        (row,) = recent_sessions(conn)
        stored = session_events(conn, sid)
    finally:
        conn.close()
    assert row["session_id"] == sid and row["deployment"] == "openai/gpt-realtime (primary)"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (20, 40, 60)
    assert row["close_code"] == 1000 and row["duration_s"] == end["duration_s"]
    assert row["routing"]["strategy"] == "simple-shuffle"
    assert [e["event_type"] for e in stored] == [r["event_type"] for r in events]

    # No key and no audio anywhere, in either sink.
    text, raw = jsonl.read_text(), store_bytes(db)
    for piece in secrets_and_audio(audio, received):
        assert piece not in text
        assert piece.encode() not in raw

    # rt-core sessions reads the store.
    args = build_parser().parse_args(["sessions", "--db", str(db), "--json"])
    assert args.func(args) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["session_id"] for s in listed] == [sid] and listed[0]["total_tokens"] == 60
    args = build_parser().parse_args(["sessions", "--db", str(db)])
    assert args.func(args) == 0
    table = capsys.readouterr().out
    assert sid in table and "20/40/60" in table and "openai/gpt-realtime (primary)" in table


async def test_default_event_types_are_logged():
    cap = Capture()
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running(), running_gateway(cfg(fake.api_base), plugins={"capture": cap}) as gw:
        await audio_session(gw, pcm16_tone(100))
    kinds = [(r["direction"], r["event_type"]) for r in cap.events()]
    assert kinds == [("upstream->client", "session.created"),
                     ("client->upstream", "response.create"), ("upstream->client", "response.done"),
                     ("client->upstream", "response.create"), ("upstream->client", "response.done")]
    assert [r["kind"] for r in cap.records][0::len(cap.records) - 1] == ["session.start", "session.end"]


async def test_event_type_list_selects_events():
    cap = Capture()
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    types = ["conversation.item.create", "response.output_text.delta"]
    async with fake.running():
        async with running_gateway(cfg(fake.api_base, logged_real_time_event_types=types),
                                   plugins={"capture": cap}) as gw:
            await audio_session(gw, pcm16_tone(100))
    types = [r["event_type"] for r in cap.events()]
    assert types[0] == "conversation.item.create"
    assert set(types) == {"conversation.item.create", "response.output_text.delta"}
    assert "".join(r["payload"]["delta"] for r in cap.events()[1:]) == "You said: and in text?"


class Raiser:
    @hookimpl
    def on_log_event(self, record: Any) -> None:
        raise RuntimeError("sink is broken")


class Blocker:
    """Blocks the calling thread for ``delay`` seconds per record."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.release = threading.Event()
        self.calls = 0

    @hookimpl
    def on_log_event(self, record: Any) -> None:
        self.calls += 1
        self.release.wait(self.delay)


async def test_sinks_that_raise_or_block_never_slow_or_break_sessions(caplog):
    cap, blocker = Capture(), Blocker(0.3)
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running():
        config = cfg(fake.api_base, logged_real_time_event_types="*", rt_log_queue_size=4)
        async with running_gateway(config, plugins={"raiser": Raiser(), "blocker": blocker, "capture": cap}) as gw:
            started = time.monotonic()
            try:
                # ~40 records per session: inline, the blocker alone would take 12 s per session.
                with anyio.fail_after(8):
                    for _ in range(5):
                        await audio_session(gw, pcm16_tone(100))
                took = time.monotonic() - started
                stats = gw.gateway.logger.stats()
            finally:
                blocker.release.set()
                assert gw.gateway.logger.close(5)
    assert took < 8
    assert len(fake.connections) == 5
    assert stats["sinks"]["raiser"]["call_errors"] == len(cap.records)
    assert stats["sinks"]["blocker"]["offloaded"] is True
    assert stats["sinks"]["blocker"]["dropped"] > 0
    # A well-behaved sink got everything: a bad one only loses its own records.
    assert [r["kind"] for r in cap.records].count("session.start") == 5
    ends = [r for r in cap.records if r["kind"] == "session.end"]
    assert len(ends) == 5 and all(e["payload"]["close_code"] == 1000 for e in ends)
    assert ends[-1]["payload"]["log_dropped"] > 0 and ends[-1]["payload"]["log_errors"] > 0
    assert "sink is broken" in caplog.text and "'blocker' took" in caplog.text
    assert "dropped" in caplog.text


def test_sessions_command_without_a_store(tmp_path, capsys):
    args = build_parser().parse_args(["sessions", "--db", str(tmp_path / "none.db")])
    assert args.func(args) == 1
    assert "no session store" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
