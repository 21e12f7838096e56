"""The load generator at toy scale: it reports what the issue asks for and loses nothing on a clean path."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from bench.gateways import free_port
from bench.loadgen import CHUNK_BYTES, LoadConfig, b64_audio_ms, chunk_b64, percentiles_ms, run_load

REPORT_FIELDS = {
    "connected", "connect_failures", "chunks_sent", "chunks_received", "chunks_lost", "chunks_unmatched",
    "chunks_corrupt", "rtt_ms", "schedule_lag_ms", "loadgen_cpu_pct", "watched_cpu_pct", "stream_window_mono",
    "watched_switches_per_s", "loadgen_switches_per_s",
}


def url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"


@pytest.mark.anyio
async def test_two_sessions_for_a_second_direct_lose_nothing(fake_server: tuple[int, int]) -> None:
    port, pid = fake_server
    report = await run_load(LoadConfig(url=url(port), sessions=2, duration_s=1.0, watch={"fake": pid}))
    assert REPORT_FIELDS <= report.keys()
    assert report["connected"] == 2 and report["connect_failures"] == 0
    assert report["greeting_types"] == {"session.created": 2}
    assert report["chunks_sent"] == 2 * 50
    assert report["chunks_received"] == report["chunks_sent"]
    assert report["chunks_lost"] == report["chunks_unmatched"] == report["chunks_corrupt"] == 0
    assert set(report["rtt_ms"]) == {"p50", "p95", "p99", "max", "mean"}
    assert report["rtt_ms"]["p50"] <= report["rtt_ms"]["p99"] <= report["rtt_ms"]["max"]
    assert set(report["schedule_lag_ms"]) >= {"p50", "p99", "max"}
    assert "fake" in report["watched_cpu_pct"]
    # The fake waited for the load generator's chunks: voluntary switches, counted per second.
    voluntary, preempted = report["watched_switches_per_s"]["fake"]
    assert voluntary > 0 and preempted >= 0
    assert report["loadgen_switches_per_s"][0] > 0


@pytest.mark.anyio
async def test_fifo_matching_counts_every_echo(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    report = await run_load(LoadConfig(url=url(port), sessions=3, duration_s=0.5, match="fifo"))
    assert report["chunks_sent"] == 3 * 25
    assert report["chunks_received"] == report["chunks_sent"]
    assert report["chunks_lost"] == 0


@pytest.mark.anyio
async def test_position_matching_on_a_clean_echo_loses_nothing(fake_server: tuple[int, int]) -> None:
    port, _ = fake_server
    report = await run_load(LoadConfig(url=url(port), sessions=2, duration_s=0.5, match="position"))
    assert report["chunks_received"] == report["chunks_sent"] == 50
    assert report["chunks_lost"] == report["chunks_held_at_end"] == 0
    assert report["audio_returned_ms"] == report["audio_sent_ms"] == 2 * 500


async def rechunking_echo(ws: ServerConnection) -> None:
    """Like a resampling gateway: audio comes back in 60 ms bursts, keeping at least 40 ms back."""
    await ws.send(json.dumps({"type": "session.created", "event_id": "e0", "session": {}}))
    buffered = b""
    async for message in ws:
        buffered += base64.b64decode(json.loads(message)["audio"])
        burst = 3 * CHUNK_BYTES
        if len(buffered) >= burst + 2 * CHUNK_BYTES:
            out, buffered = buffered[:burst], buffered[burst:]
            await ws.send(json.dumps({"type": "response.output_audio.delta", "event_id": "e", "response_id": "r",
                                      "item_id": "i", "output_index": 0, "content_index": 0,
                                      "delta": base64.b64encode(out).decode()}))


@pytest.fixture
async def rechunking_server() -> AsyncIterator[int]:
    async with serve(rechunking_echo, "127.0.0.1", 0) as server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.anyio
async def test_position_matching_follows_audio_through_rechunking(rechunking_server: int) -> None:
    # Per session 25 chunks: 21 come back in 7 bursts of 3, 4 never do: 2 of them are
    # within the 40 ms tail allowance (held), the other 2 are lost.
    cfg = LoadConfig(url=url(rechunking_server), sessions=2, duration_s=0.5, match="position",
                     tail_allowance_ms=40, drain_timeout_s=1)
    report = await run_load(cfg)
    sent = report["chunks_sent"]
    assert sent == 50
    assert report["audio_returned_ms"] == 2 * 21 * 20  # whole bursts only: 7 of 3 chunks per session
    assert report["chunks_received"] == 2 * 21
    assert report["chunks_held_at_end"] == 2 * 2
    assert report["chunks_lost"] == sent - 2 * 21 - 2 * 2


@pytest.mark.anyio
async def test_a_refused_connection_is_counted_not_raised() -> None:
    report = await run_load(LoadConfig(url=url(free_port()), sessions=2, duration_s=0.2, connect_timeout_s=2))
    assert report["connected"] == 0
    assert report["connect_failures"] == 2
    assert report["connect_errors"]
    assert report["chunks_sent"] == 0


@pytest.mark.anyio
async def test_a_gateway_that_never_greets_is_a_session_failure(fake_server: tuple[int, int]) -> None:
    """The Gemini fake says nothing until setup: an OpenAI client waiting for session.created gives up."""
    port, _ = fake_server
    cfg = LoadConfig(url=f"ws://127.0.0.1:{port}/ws/google.ai.generativelanguage.v1beta.GenerativeService."
                     "BidiGenerateContent?key=k", sessions=1, duration_s=0.2, greeting_timeout_s=0.3)
    report = await run_load(cfg)
    assert report["connect_failures"] == 1
    assert any(err.startswith("greeting") for err in report["connect_errors"])


@pytest.mark.parametrize(
    "cfg",
    [
        LoadConfig(url="ws://10.1.2.3:4000/v1/realtime"),  # not loopback: never a target
        LoadConfig(url="ws://example.com/v1/realtime"),
        LoadConfig(url="ws://127.0.0.1.example.com/v1/realtime"),
        LoadConfig(url="http://127.0.0.1:4000/v1/realtime"),
        LoadConfig(url="ws://127.0.0.1:4000/v1/realtime", sessions=100_000),
        LoadConfig(url="ws://127.0.0.1:4000/v1/realtime", duration_s=10_000),
        LoadConfig(url="ws://127.0.0.1:4000/v1/realtime", match="random"),
        LoadConfig(url="ws://127.0.0.1:4000/v1/realtime", match="seq", tail_allowance_ms=100),
    ],
)
def test_unbounded_or_non_loopback_runs_are_refused(cfg: LoadConfig) -> None:
    with pytest.raises(ValueError):
        cfg.validate()


def test_chunks_are_20ms_of_pcm16_24k_and_identified_by_their_first_8_base64_chars() -> None:
    chunks = [chunk_b64(seq) for seq in range(1000)]
    assert all(len(base64.b64decode(c)) == CHUNK_BYTES == 960 for c in chunks[:3])
    assert len({c[:8] for c in chunks}) == 1000


def test_audio_duration_from_base64_length() -> None:
    assert b64_audio_ms(base64.b64encode(bytes(960))) == 20.0
    assert b64_audio_ms(base64.b64encode(bytes(962))) == pytest.approx(962 / 48)
    assert b64_audio_ms(base64.b64encode(bytes(964))) == pytest.approx(964 / 48)


def test_percentiles_by_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100 "ns", scaled to "ms" with scale=1
    p = percentiles_ms(values, scale=1)
    assert (p["p50"], p["p95"], p["p99"], p["max"]) == (50, 95, 99, 100)
    assert percentiles_ms([])["p99"] is None
