"""The floor relay (bench/floor_relay.py) for real on loopback, and how the harness reports it.

The relay runs in the test's event loop for the protocol checks (buffering before
the upstream is up, close propagation), and as the harness's own child process in
the end-to-end run. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request

from bench import floor_relay, gateways
from bench.loadgen import LoadConfig, run_load
from bench.report import render_markdown

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(60)


class Upstream:
    """A recording upstream that is slow to accept, so the client talks before it is up."""

    def __init__(self, accept_delay_s: float) -> None:
        self.accept_delay_s = accept_delay_s
        self.paths: list[str] = []
        self.auth: list[str | None] = []
        self.received: list[str | bytes] = []
        self.close_codes: list[int | None] = []
        self.conn: ServerConnection | None = None
        self.got = asyncio.Event()

    async def process_request(self, conn: ServerConnection, request: Request) -> None:
        self.paths.append(request.path)
        self.auth.append(request.headers.get("Authorization"))
        await asyncio.sleep(self.accept_delay_s)

    async def handler(self, conn: ServerConnection) -> None:
        self.conn = conn
        await conn.send("hello from upstream")
        try:
            async for message in conn:
                self.received.append(message)
                self.got.set()
                if message == "echo":
                    await conn.send(b"\x00\x01binary back")
        except ConnectionClosed:
            pass
        self.close_codes.append(conn.close_code)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, int]]:
    up = Upstream(accept_delay_s=0.3)
    async with serve(up.handler, "127.0.0.1", 0, process_request=up.process_request) as server:
        yield up, server.sockets[0].getsockname()[1]


@pytest.fixture
async def relay(upstream: tuple[Upstream, int]) -> AsyncIterator[int]:
    server = await floor_relay.start("127.0.0.1", 0, f"ws://127.0.0.1:{upstream[1]}")
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def _wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_frames_sent_before_the_upstream_is_up_arrive_in_order_and_verbatim(
    upstream: tuple[Upstream, int], relay: int
) -> None:
    up, _ = upstream
    url = f"ws://127.0.0.1:{relay}/v1/realtime?model=gpt-realtime&x=1"
    async with connect(url, additional_headers={"Authorization": "Bearer sk-test"}) as ws:
        # The upstream takes 0.3 s to accept: all of these wait in the relay.
        for i in range(5):
            await ws.send(f'{{"n": {i}}}')
        await ws.send(b"\xff\x00raw")
        await ws.send("echo")
        assert await asyncio.wait_for(ws.recv(), 5) == "hello from upstream"
        assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\x01binary back"
        await ws.send("after")
        await _wait_for(lambda: "after" in up.received)
    assert up.received == [*(f'{{"n": {i}}}' for i in range(5)), b"\xff\x00raw", "echo", "after"]
    assert up.paths == ["/v1/realtime?model=gpt-realtime&x=1"]  # the query passes through
    assert up.auth == ["Bearer sk-test"]


@pytest.mark.anyio
async def test_a_client_close_closes_the_upstream_with_its_code(upstream: tuple[Upstream, int], relay: int) -> None:
    up, _ = upstream
    async with connect(f"ws://127.0.0.1:{relay}/v1/realtime?model=m") as ws:
        assert await asyncio.wait_for(ws.recv(), 5) == "hello from upstream"
        await ws.close(code=4001, reason="client done")
    await _wait_for(lambda: up.close_codes)
    assert up.close_codes == [4001]


@pytest.mark.anyio
async def test_an_upstream_close_reaches_the_client_with_its_code(upstream: tuple[Upstream, int], relay: int) -> None:
    up, _ = upstream
    async with connect(f"ws://127.0.0.1:{relay}/v1/realtime?model=m") as ws:
        assert await asyncio.wait_for(ws.recv(), 5) == "hello from upstream"
        assert up.conn is not None
        await up.conn.close(code=4002, reason="upstream done")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4002
    assert ws.close_reason == "upstream done"


@pytest.mark.anyio
async def test_an_unreachable_upstream_closes_the_client() -> None:
    server = await floor_relay.start("127.0.0.1", 0, f"ws://127.0.0.1:{gateways.free_port()}")
    port = server.sockets[0].getsockname()[1]
    try:
        async with connect(f"ws://127.0.0.1:{port}/v1/realtime?model=m") as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1011
        with pytest.raises(InvalidStatus):  # only the realtime path is relayed
            async with connect(f"ws://127.0.0.1:{port}/v1/other"):
                pass
    finally:
        server.close()


@pytest.mark.anyio
async def test_the_load_through_the_relay_to_the_echo_fake_loses_nothing(fake_server: tuple[int, int]) -> None:
    fake_port, _ = fake_server
    server = await floor_relay.start("127.0.0.1", 0, f"ws://127.0.0.1:{fake_port}")
    port = server.sockets[0].getsockname()[1]
    try:
        before = gateways.fake_stats(fake_port)
        report = await run_load(LoadConfig(url=f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime",
                                           sessions=2, duration_s=1.0))
        status, body = await asyncio.to_thread(gateways.http_get, f"http://127.0.0.1:{port}/health/readiness")
    finally:
        server.close()
    after = gateways.fake_stats(fake_port)
    assert (status, body) == (200, b"ok")
    assert report["connected"] == 2 and report["greeting_types"] == {"session.created": 2}
    assert report["chunks_received"] == report["chunks_sent"] == 100
    assert report["chunks_lost"] == report["chunks_corrupt"] == report["chunks_unmatched"] == 0
    assert after["openai_appends"] - before["openai_appends"] == 100  # relayed to the fake, not answered by itself
    assert after["openai_connections"] - before["openai_connections"] == 2


def test_run_measures_the_floor_on_passthrough_and_notes_the_skipped_path(tmp_path: Path) -> None:
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--targets", "direct,floor", "--path", "openai,gemini",
            "--sessions", "2", "--duration", "1", "--settle", "0.2", "--pause", "0", "--drain-timeout", "2",
            "--out", str(tmp_path), "--logs", str(tmp_path / "logs"), "--no-plot"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, cwd=ROOT)
    results = json.loads((tmp_path / "results.json").read_text())
    assert done.returncode == 0, (done.stderr[-2000:], results["errors"])
    info = results["gateways"]["floor"]
    assert info["time_to_healthy_s"] > 0 and info["idle_rss_mib"] > 0 and info["exit_code"] is not None
    direct, floor = results["runs"]
    assert (floor["target"], floor["path"], floor["sessions"]) == ("floor", "openai", 2)
    assert floor["load"]["chunks_lost"] == 0 and floor["fake"]["all_chunks_reached_fake"] is True
    assert floor["gateway"]["cpu_pct"] is not None and floor["gateway"]["alive"] is True
    assert any("floor: path gemini not run" in note for note in results["notes"])
    report = (tmp_path / "report.md").read_text()
    assert "| sessions | direct p50 / p99 ms | floor p50 / p99 ms | floor CPU % | rt p50 / p99 ms |" in report
    assert "### Notes" in report and "floor: path gemini not run" in report
    assert "### Translation" not in report  # no gateway ran the gemini path


def _run(target: str, path: str, sessions: int, p99: float, cpu: float | None) -> dict[str, Any]:
    load = {"rtt_ms": {"p50": p99 / 2, "p95": p99, "p99": p99, "max": p99}, "chunks_lost": 0,
            "connect_failures": 0, "connected": sessions, "chunks_sent": 10, "chunks_received": 10,
            "chunks_unmatched": 0, "chunks_corrupt": 0, "loadgen_cpu_pct": 20.0,
            "schedule_lag_ms": {"p50": 0.1, "p99": 0.7, "max": 1.0}}
    run: dict[str, Any] = {"target": target, "path": path, "sessions": sessions, "load": load,
                           "fake": {"cpu_pct": 5.0, "all_chunks_reached_fake": True}}
    if cpu is not None:
        run["gateway"] = {"cpu_pct": cpu, "cpu_us_per_chunk": cpu * 1.2, "rss_before_mib": 30.0,
                          "rss_peak_mib": 31.0, "rss_after_mib": 31.0, "rss_settled_mib": 31.0}
    return run


def _results(with_floor: bool) -> dict[str, Any]:
    runs = [
        _run("direct", "openai", 200, p99=1.0, cpu=None),
        _run("rt", "openai", 200, p99=1.5, cpu=48.0),
        _run("litellm", "openai", 200, p99=28.0, cpu=82.0),
        _run("rt", "gemini", 200, p99=3.5, cpu=25.0),
    ]
    gateways_info: dict[str, Any] = {"rt": {"time_to_healthy_s": 0.3, "idle_rss_mib": 45.0, "idle_cpu_pct": 0.0}}
    if with_floor:
        runs.insert(1, _run("floor", "openai", 200, p99=1.1, cpu=24.0))
        gateways_info["floor"] = {"time_to_healthy_s": 0.1, "idle_rss_mib": 20.0, "idle_cpu_pct": 0.0}
    # As an older results.json: no "notes" key.
    return {"command": "python bench/run.py", "options": {"sessions": [200], "duration_s": 20}, "machine": {},
            "versions": {}, "gateways": gateways_info, "runs": runs}


def test_report_shows_the_floor_columns_and_ratios_only_when_it_was_measured() -> None:
    with_floor = render_markdown(_results(with_floor=True))
    assert ("| 200 | 0.50 / 1.00 | 0.55 / 1.10 | 24.0 | 0.75 / 1.50 | 48.0 | 0 | 14.00 / 28.00 | 82.0 | 0 "
            "| 0.59 | 1.50 | 20 / 0.70, 20 / 0.70, 20 / 0.70, 20 / 0.70 |") in with_floor
    bar = with_floor.split("### The bar", 1)[1].split("###", 1)[0]
    assert "- Against the floor" in bar
    assert ("  - 200 sessions: rt CPU ÷ floor CPU 2.00 (rt 48.0 % / floor 24.0 %, 58 / 29 µs per chunk); "
            "floor p99 ÷ direct p99 1.10 (floor 1.10 ms / direct 1.00 ms)") in bar
    assert "| floor | 0.10 | 20.0 |" in with_floor  # start and memory
    gemini = with_floor.split("### Translation", 1)[1].split("###", 1)[0]
    assert "floor" not in gemini  # no translation in the floor relay

    without = render_markdown(_results(with_floor=False))
    assert "floor" not in without
    assert "| 200 | 0.50 / 1.00 | 0.75 / 1.50 | 48.0 | 0 | 14.00 / 28.00 | 82.0 | 0 | 0.59 | 1.50 |" in without


def test_plot_draws_the_floor(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.plot import plot_results

    images = [plot_results(_results(with_floor), tmp_path / f"plot-{with_floor}.png").read_bytes()
              for with_floor in (True, False)]
    assert all(image[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    assert images[0] != images[1]  # the floor's line and legend entry
