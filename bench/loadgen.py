"""Load generator: N OpenAI Realtime sessions streaming 20 ms audio chunks at real-time pace.

Each session is a picows WebSocket client (on uvloop when run as a program:
measured cheaper per message than websockets, see bench/README.md). After all
sessions are connected and greeted (first server event, normally
``session.created``), every session sends one ``input_audio_buffer.append`` of
20 ms pcm16 24 kHz audio (960 bytes, 1280 base64 characters) per 20 ms for D
seconds, and measures the round trip of each chunk to the echoed
``response.output_audio.delta`` (the beta name ``response.audio.delta`` counts too).

Pacing is an absolute schedule: tick k is due at t0 + k * 1 ms, and the sessions
are spread over the 20 one-millisecond slots of a chunk period, so a late tick
does not shift the ones after it and the load is not one burst every 20 ms.
The lateness of each tick is recorded as the *schedule lag*: when it grows, the
load generator itself is saturated and its latencies are not the gateway's fault.

Matching a reply to its chunk:

* ``seq`` (passthrough paths): the first 6 bytes of each chunk carry its sequence
  number, so the first 8 base64 characters identify it; the reply's audio must be
  byte-identical to what was sent (else it is counted as corrupt).
* ``position`` (translated paths, where the audio is resampled and may be
  re-chunked: rt's resampler emits audio in bursts): each session counts the
  duration of the audio it got back; chunk k is back when that total reaches the
  end of chunk k ((k + 1) x 20 ms). Its round trip is therefore the real delay of
  that audio through the gateway, whatever the framing. The last
  ``tail_allowance_ms`` of each session may legitimately still sit in a
  resampler when the stream stops: those chunks are reported as held, not lost.
* ``fifo``: one reply message per chunk, matched in order (for gateways known to
  keep the framing; wrong for any that re-chunks).

A chunk with no reply by the end of the drain period is lost. Everything is
bounded: sessions, duration and total chunks are capped, and the URL must be a
loopback address.

Run ``python bench/loadgen.py --url ws://127.0.0.1:PORT/v1/realtime?model=M
--sessions 10 --duration 5``; it prints one JSON report on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import ipaddress
import json
import math
import os
import random
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench.fakes import b64_decoded_len, find_string_value, loop_factory
from bench.procstat import (
    context_switches,
    cpu_percent,
    cpu_seconds,
    sample_tree,
    switches_per_second,
    system_busy_seconds,
    tree_context_switches,
)

MATCH_MODES = ("seq", "position", "fifo")
MAX_SESSIONS = 2000
MAX_DURATION_S = 300.0
MAX_TOTAL_CHUNKS = 5_000_000

CHUNK_MS = 20
SAMPLE_RATE = 24_000
CHUNK_BYTES = SAMPLE_RATE * 2 * CHUNK_MS // 1000  # 960 bytes of pcm16 mono
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000  # 48
TICK_MS = 1
# Resampling rounds lengths by a sample or so: audio within this of a chunk's end counts.
POSITION_SLACK_MS = 0.5
SLOTS = CHUNK_MS // TICK_MS
DRAIN_QUIET_S = 0.5

_DELTA_TYPES = (b'response.output_audio.delta"', b'response.audio.delta"')
_ERROR_TYPES = (b'"type":"error"', b'"type": "error"')
_APPEND_HEAD = b'{"type":"input_audio_buffer.append","audio":"'
_APPEND_TAIL = b'"}'


def _base_audio() -> bytes:
    """A deterministic, non-silent 20 ms chunk (a 440 Hz tone): some code paths skip silence."""
    samples = [int(8000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)) for i in range(CHUNK_BYTES // 2)]
    return struct.pack(f"<{len(samples)}h", *samples)


_BASE_AUDIO = _base_audio()
# Bytes 6.. start on a base64 group boundary, so their encoding never changes.
_BASE_TAIL_B64 = base64.b64encode(_BASE_AUDIO[6:])


def chunk_b64(seq: int) -> bytes:
    """Base64 of chunk ``seq``: its first 6 bytes are the sequence number (8 base64 chars)."""
    return base64.b64encode(struct.pack("<IH", seq & 0xFFFFFFFF, 0xB5B5)) + _BASE_TAIL_B64


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: the only addresses a benchmark may send traffic to."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


@dataclass
class LoadConfig:
    """What to run. Defaults match the issue: 20 ms chunks of pcm16 24 kHz."""

    url: str
    sessions: int = 1
    duration_s: float = 5.0
    match: str = "seq"  # see MATCH_MODES
    # position matching: audio this close to a session's end may still sit in a
    # resampler when the stream stops; such chunks are "held", not lost.
    tail_allowance_ms: float = 0.0
    api_key: str = "sk-bench"
    connect_concurrency: int = 50
    connect_timeout_s: float = 10.0
    greeting_timeout_s: float = 10.0
    drain_timeout_s: float = 10.0
    label: str = ""
    watch: dict[str, int] = field(default_factory=dict)  # name -> pid whose tree CPU is read over the window
    seed: int = 1

    def validate(self) -> None:
        """Refuse anything unbounded or off the loopback interface."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"not a WebSocket URL: {self.url}")
        if not is_loopback(parts.hostname):
            raise ValueError(f"the load generator targets loopback only, not {parts.hostname!r}")
        if not 1 <= self.sessions <= MAX_SESSIONS:
            raise ValueError(f"sessions must be in 1..{MAX_SESSIONS}")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S}] seconds")
        if self.sessions * self.chunks_per_session > MAX_TOTAL_CHUNKS:
            raise ValueError(f"more than {MAX_TOTAL_CHUNKS} chunks in one run")
        if self.match not in MATCH_MODES:
            raise ValueError(f"match must be one of {', '.join(MATCH_MODES)}")
        if self.tail_allowance_ms < 0 or (self.match == "seq" and self.tail_allowance_ms):
            raise ValueError("a tail allowance is for position matching only")

    @property
    def chunks_per_session(self) -> int:
        return max(1, int(round(self.duration_s * 1000 / CHUNK_MS)))


class Stats:
    """Counters and samples shared by all sessions of one run."""

    def __init__(self) -> None:
        self.rtt_ns: list[int] = []
        self.sent = 0
        self.received = 0
        self.unmatched = 0
        self.corrupt = 0
        self.errors = 0
        self.first_errors: list[str] = []
        self.disconnects_while_streaming = 0
        self.streaming = False


def b64_audio_ms(b64: bytes) -> float:
    """Duration of base64 pcm16 24 kHz audio, from its length alone (no decoding)."""
    return b64_decoded_len(b64) / BYTES_PER_MS


class Session(WSListener):
    """One client session: sends chunks when the pacer says, matches the echoes."""

    def __init__(self, index: int, stats: Stats, match: str) -> None:
        self.index = index
        self.stats = stats
        self.match = match
        self.pending_seq: dict[bytes, tuple[int, bytes]] = {}
        # fifo: send times; position: (send time, end of the chunk in the stream, ms).
        self.pending_fifo: collections.deque[int] = collections.deque()
        self.pending_pos: collections.deque[tuple[int, float]] = collections.deque()
        self.sent_ms = 0.0
        self.returned_ms = 0.0
        self.transport: WSTransport | None = None
        self.greeted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.greeting_type = ""
        self.open = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.open = True

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.open and self.stats.streaming:
            self.stats.disconnects_while_streaming += 1
        self.open = False
        if not self.greeted.done():
            self.greeted.set_exception(ConnectionError("closed before the first server event"))

    def outstanding(self) -> int:
        if self.match == "position":
            return len(self.pending_pos)
        return len(self.pending_fifo) if self.match == "fifo" else len(self.pending_seq)

    def send_chunk(self, seq: int) -> None:
        transport = self.transport
        if transport is None or not self.open:
            return
        audio = chunk_b64(seq)
        now = time.perf_counter_ns()
        if self.match == "seq":
            self.pending_seq[audio[:8]] = (now, audio)
        elif self.match == "position":
            self.sent_ms += CHUNK_MS
            self.pending_pos.append((now, self.sent_ms))
        else:
            self.pending_fifo.append(now)
        transport.send(WSMsgType.TEXT, b"".join((_APPEND_HEAD, audio, _APPEND_TAIL)))
        self.stats.sent += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is not WSMsgType.TEXT and kind is not WSMsgType.BINARY:
            return
        now = time.perf_counter_ns()
        payload = frame.get_payload_as_bytes()
        if not self.greeted.done():
            self.greeting_type = _event_type(payload)
            self.greeted.set_result(None)
        if _DELTA_TYPES[0] in payload or _DELTA_TYPES[1] in payload:
            delta = find_string_value(payload, b'"delta"')
            if delta is None:
                try:
                    delta = json.loads(payload)["delta"].encode()
                except (ValueError, KeyError, TypeError, AttributeError):
                    self.stats.unmatched += 1
                    return
            stats = self.stats
            if self.match == "position":
                # A chunk is back when the returned audio reaches its end (less
                # rounding slack): independent of how the gateway re-chunks.
                self.returned_ms += b64_audio_ms(delta)
                reached = self.returned_ms + POSITION_SLACK_MS
                pending = self.pending_pos
                while pending and pending[0][1] <= reached:
                    stats.rtt_ns.append(now - pending.popleft()[0])
                    stats.received += 1
                return
            if self.match == "fifo":
                if self.pending_fifo:
                    stats.rtt_ns.append(now - self.pending_fifo.popleft())
                    stats.received += 1
                else:
                    stats.unmatched += 1
                return
            entry = self.pending_seq.pop(delta[:8], None)
            if entry is None:
                stats.unmatched += 1
                return
            stats.rtt_ns.append(now - entry[0])
            stats.received += 1
            if delta != entry[1]:
                stats.corrupt += 1
            return
        if _ERROR_TYPES[0] in payload or _ERROR_TYPES[1] in payload:
            self.stats.errors += 1
            if len(self.stats.first_errors) < 5:
                self.stats.first_errors.append(payload[:300].decode("utf-8", "replace"))


def _event_type(payload: bytes) -> str:
    try:
        value = json.loads(payload).get("type", "")
        return value if isinstance(value, str) else ""
    except (ValueError, AttributeError):
        return "<not json>"


def percentiles_ms(samples_ns: list[int] | list[float], scale: float = 1e-6) -> dict[str, float | None]:
    """p50/p95/p99/max/mean by nearest rank, in ms."""
    if not samples_ns:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(samples_ns)
    n = len(ordered)

    def rank(p: float) -> float:
        return ordered[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * scale

    return {
        "p50": round(rank(50), 4),
        "p95": round(rank(95), 4),
        "p99": round(rank(99), 4),
        "max": round(ordered[-1] * scale, 4),
        "mean": round(sum(ordered) / n * scale, 4),
    }


async def _connect(cfg: LoadConfig, index: int, stats: Stats, gate: asyncio.Semaphore) -> Session | str:
    """Open one session and wait for its first server event; return it or an error text."""
    async with gate:
        try:
            async with asyncio.timeout(cfg.connect_timeout_s):
                _, listener = await ws_connect(
                    lambda: Session(index, stats, cfg.match),
                    cfg.url,
                    extra_headers={"Authorization": f"Bearer {cfg.api_key}"},
                    websocket_handshake_timeout=cfg.connect_timeout_s,
                    max_frame_size=16 * 1024 * 1024,
                )
        except Exception as exc:  # noqa: BLE001 - every failure is counted and named
            return f"connect: {type(exc).__name__}: {str(exc)[:120]}"
    session = listener
    assert isinstance(session, Session)
    try:
        async with asyncio.timeout(cfg.greeting_timeout_s):
            await session.greeted
    except Exception as exc:  # noqa: BLE001
        if session.transport is not None:
            session.transport.disconnect()
        return f"greeting: {type(exc).__name__}: {str(exc)[:120]}"
    return session


async def run_load(cfg: LoadConfig) -> dict[str, Any]:
    """Run one load and return the report (a JSON-serialisable dict)."""
    cfg.validate()
    stats = Stats()
    started = time.monotonic()
    gate = asyncio.Semaphore(cfg.connect_concurrency)
    results = await asyncio.gather(*(_connect(cfg, i, stats, gate) for i in range(cfg.sessions)))
    sessions = [r for r in results if isinstance(r, Session)]
    failures = collections.Counter(r for r in results if isinstance(r, str))
    connect_s = time.monotonic() - started
    greetings = collections.Counter(s.greeting_type for s in sessions)

    rng = random.Random(cfg.seed)
    slots: list[list[Session]] = [[] for _ in range(SLOTS)]
    for session in sessions:
        slots[rng.randrange(SLOTS)].append(session)

    lag_s: list[float] = []
    chunks = cfg.chunks_per_session
    total_ticks = chunks * SLOTS
    tick_s = TICK_MS / 1000
    watched_before = {name: sample_tree(pid) for name, pid in cfg.watch.items()}
    switches_before = {name: tree_context_switches(pid) for name, pid in cfg.watch.items()}
    self_switches_before = context_switches()
    self_cpu_before = cpu_seconds()
    system_before = system_busy_seconds()
    stats.streaming = True
    t0 = time.monotonic() + 0.01
    k = 0
    while k < total_ticks and sessions:
        due = t0 + k * tick_s
        now = time.monotonic()
        if now < due:
            await asyncio.sleep(due - now)
            now = time.monotonic()
        # uvloop's timers have 1 ms granularity and may fire up to 1 ms early; an
        # early tick is no lag (round trips are timed from the actual send), and
        # spinning until the exact instant would cost the client CPU it must save.
        lag_s.append(max(0.0, now - due))
        seq = k // SLOTS
        for session in slots[k % SLOTS]:
            session.send_chunk(seq)
        k += 1
        if now - due > tick_s:
            # Catching up: still yield now and then so replies are read.
            if k % SLOTS == 0:
                await asyncio.sleep(0)
    t_end = time.monotonic()
    self_cpu_after = cpu_seconds()
    system_after = system_busy_seconds()
    self_switches_after = context_switches()
    watched_after = {name: sample_tree(pid) for name, pid in cfg.watch.items()}
    switches_after = {name: tree_context_switches(pid) for name, pid in cfg.watch.items()}
    stream_s = max(t_end - t0, 1e-9)

    held_per_session = math.ceil(cfg.tail_allowance_ms / CHUNK_MS)
    drain_start = time.monotonic()
    last_progress, last_received = drain_start, stats.received
    while time.monotonic() - drain_start < cfg.drain_timeout_s:
        open_sessions = [s for s in sessions if s.open]
        if not any(s.outstanding() for s in open_sessions):
            break
        now = time.monotonic()
        if stats.received != last_received:
            last_progress, last_received = now, stats.received
        # Audio a resampler holds back never comes: stop once only that is missing
        # and nothing has arrived for a while (in-flight echoes are still waited for).
        quiet = now - last_progress >= DRAIN_QUIET_S
        if quiet and all(s.outstanding() <= held_per_session for s in open_sessions):
            break
        await asyncio.sleep(0.01)
    drain_s = time.monotonic() - drain_start
    stats.streaming = False
    held = sum(min(s.outstanding(), held_per_session) for s in sessions)
    lost = sum(s.outstanding() for s in sessions) - held

    for session in sessions:
        if session.transport is not None and session.open:
            session.transport.send_close()
            session.transport.disconnect()
    for session in sessions:
        if session.transport is not None:
            try:
                async with asyncio.timeout(2):
                    await session.transport.wait_disconnected()
            except TimeoutError:
                pass

    return {
        "label": cfg.label,
        "url": cfg.url,
        "match": cfg.match,
        "sessions": cfg.sessions,
        "duration_s": cfg.duration_s,
        "chunk_ms": CHUNK_MS,
        "chunk_bytes": CHUNK_BYTES,
        "connected": len(sessions),
        "connect_failures": cfg.sessions - len(sessions),
        "connect_errors": dict(failures.most_common(5)),
        "greeting_types": dict(greetings),
        "connect_s": round(connect_s, 3),
        "chunks_sent": stats.sent,
        "chunks_received": stats.received,
        "chunks_lost": lost,
        "chunks_held_at_end": held,
        "tail_allowance_ms": cfg.tail_allowance_ms,
        "audio_sent_ms": round(sum(s.sent_ms for s in sessions), 1) if cfg.match == "position" else None,
        "audio_returned_ms": round(sum(s.returned_ms for s in sessions), 1) if cfg.match == "position" else None,
        "chunks_unmatched": stats.unmatched,
        "chunks_corrupt": stats.corrupt,
        "error_events": stats.errors,
        "first_errors": stats.first_errors,
        "disconnects_while_streaming": stats.disconnects_while_streaming,
        "rtt_ms": percentiles_ms(stats.rtt_ns),
        "schedule_lag_ms": percentiles_ms(lag_s, scale=1e3),
        "loadgen_cpu_pct": round(100.0 * (self_cpu_after - self_cpu_before) / stream_s, 1),
        # Every core's busy time over the window, in % of one core (200 % = 2 cores busy).
        "system_cpu_pct": round(100.0 * (system_after - system_before) / stream_s, 1),
        "watched_cpu_pct": {
            name: round(cpu_percent(watched_before[name], watched_after[name]), 1) for name in cfg.watch
        },
        "watched_rss_mib_end": {name: round(watched_after[name].rss_kib / 1024, 1) for name in cfg.watch},
        # [voluntary, involuntary] context switches per second over the window: the
        # involuntary ones are the times a process was preempted (bench/procstat.py).
        "watched_switches_per_s": {
            name: switches_per_second(switches_before[name], switches_after[name], stream_s) for name in cfg.watch
        },
        "loadgen_switches_per_s": switches_per_second(self_switches_before, self_switches_after, stream_s),
        "stream_window_mono": [round(t0, 4), round(t_end, 4)],
        "stream_s": round(stream_s, 3),
        "drain_s": round(drain_s, 3),
    }


def _parse_watch(values: list[str]) -> dict[str, int]:
    watch: dict[str, int] = {}
    for item in values:
        name, _, pid = item.partition("=")
        watch[name] = int(pid)
    return watch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/v1/realtime?model=NAME")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of streaming")
    parser.add_argument("--match", choices=MATCH_MODES, default="seq",
                        help="seq: by content (passthrough); position: by returned audio duration (translation); "
                             "fifo: one reply message per chunk, in order")
    parser.add_argument("--tail-allowance-ms", type=float, default=0.0,
                        help="position matching: trailing audio per session that may stay in a resampler")
    parser.add_argument("--api-key-env", default="", metavar="NAME",
                        help="read the gateway key from this environment variable (default: a dummy key)")
    parser.add_argument("--label", default="")
    parser.add_argument("--drain-timeout", type=float, default=10.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--watch", action="append", default=[], metavar="NAME=PID",
                        help="read this process tree's CPU over the streaming window")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    cfg = LoadConfig(
        url=args.url,
        sessions=args.sessions,
        duration_s=args.duration,
        match=args.match,
        tail_allowance_ms=args.tail_allowance_ms,
        api_key=os.environ.get(args.api_key_env, "") if args.api_key_env else "sk-bench",
        label=args.label,
        drain_timeout_s=args.drain_timeout,
        connect_timeout_s=args.connect_timeout,
        greeting_timeout_s=args.connect_timeout,
        watch=_parse_watch(args.watch),
    )
    try:
        cfg.validate()
    except ValueError as exc:
        parser.error(str(exc))
    report = asyncio.run(run_load(cfg), loop_factory=loop_factory(not args.no_uvloop))
    report["event_loop"] = "asyncio" if args.no_uvloop else "uvloop"
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

