"""The orchestrator end to end at toy scale, the report's reading of the bar, and child clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import pytest

from bench import gateways
from bench.procstat import (
    context_switches,
    process_tree,
    switches_per_second,
    thread_ids,
    tree_context_switches,
)
from bench.report import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def run_bench(out: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--sessions", "2", "--duration", "1",
            "--settle", "0.2", "--pause", "0", "--drain-timeout", "2", "--out", str(out),
            "--logs", str(out / "logs"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_direct_run_writes_results_report_and_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    done = run_bench(tmp_path, "--targets", "direct")
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert f"--out {tmp_path}" in results["command"]
    assert {"cpu_model", "cores", "kernel", "python"} <= results["machine"].keys()
    [run] = results["runs"]
    assert (run["target"], run["path"], run["sessions"]) == ("direct", "openai", 2)
    assert run["load"]["chunks_lost"] == 0
    assert run["fake"]["all_chunks_reached_fake"] is True
    report = (tmp_path / "report.md").read_text()
    assert "| sessions | direct p50 / p99 ms |" in report
    assert results["command"] in report
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(gateways.find_rt_core() is None, reason="rt-core is not installed")
def test_rt_target_reports_start_memory_and_cpu(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--targets", "rt", "--path", "openai", "--no-plot")
    results = json.loads((tmp_path / "results.json").read_text())
    assert done.returncode == 0, (done.stderr[-2000:], results["errors"])
    info = results["gateways"]["rt"]
    assert info["time_to_healthy_s"] > 0 and info["idle_rss_mib"] > 0
    [run] = results["runs"]
    assert run["load"]["chunks_lost"] == 0
    assert run["fake"]["all_chunks_reached_fake"] is True
    assert run["gateway"]["cpu_pct"] is not None
    assert run["gateway"]["alive"] is True
    assert info["exit_code"] is not None  # stopped


def _run(target: str, path: str, sessions: int, p99: float, cpu: float | None, lost: int = 0,
         rss: tuple[float, float] = (40.0, 44.0)) -> dict[str, Any]:
    load = {"rtt_ms": {"p50": p99 / 2, "p95": p99, "p99": p99, "max": p99}, "chunks_lost": lost,
            "connect_failures": 0, "connected": sessions, "chunks_sent": 10, "chunks_received": 10 - lost,
            "chunks_unmatched": 0, "chunks_corrupt": 0, "loadgen_cpu_pct": 20.0,
            "schedule_lag_ms": {"p50": 0.1, "p99": 0.7, "max": 1.0}}
    run: dict[str, Any] = {"target": target, "path": path, "sessions": sessions, "load": load,
                           "fake": {"cpu_pct": 5.0, "all_chunks_reached_fake": True}}
    if cpu is not None:
        run["gateway"] = {"cpu_pct": cpu, "rss_before_mib": rss[0], "rss_peak_mib": rss[1], "rss_after_mib": rss[1],
                          "rss_settled_mib": rss[1]}
    return run


def test_report_reads_the_bar_from_the_measurements() -> None:
    results = {
        "command": "python bench/run.py", "options": {"sessions": [200, 500], "duration_s": 20},
        "machine": {}, "versions": {"rt_plugins": ["openai (rt_openai.plugin)"]},
        "gateways": {"rt": {"time_to_healthy_s": 0.3, "idle_rss_mib": 45.0, "idle_cpu_pct": 0.0}},
        "runs": [
            _run("direct", "openai", 200, p99=1.0, cpu=None),
            _run("rt", "openai", 200, p99=1.5, cpu=20.0),
            _run("litellm", "openai", 200, p99=28.0, cpu=82.0),
            _run("rt", "openai", 500, p99=4.0, cpu=60.0, lost=3, rss=(45.0, 80.0)),
            _run("rt", "gemini", 200, p99=3.5, cpu=25.0),
            _run("litellm", "gemini", 200, p99=65.0, cpu=95.0),
        ],
    }
    report = render_markdown(results)
    bar = report.split("### The bar", 1)[1].split("###", 1)[0]
    lines = [line for line in bar.splitlines() if line.startswith("- ")]
    passthrough200, passthrough500, gemini200, idle, rss = lines
    assert passthrough200.count("→ met") == 3
    assert "chunks lost 3 → **not met**" in passthrough500 and "≤ 55 % → **not met**" in passthrough500
    assert "≤ 3 × direct p99 1.00 ms → **not met**" in gemini200 and "LiteLLM 95.0 % → met" in gemini200
    assert idle.count("→ met") == 2
    assert rss.endswith("**not met**")
    assert "| 200 | 1.00 / 0.50" not in report  # p50 / p99 order
    assert "| 200 | 0.50 / 1.00 | 0.75 / 1.50 | 20.0 | 0 | 14.00 / 28.00 | 82.0 | 0 | 0.24 | 1.50 |" in report


def test_children_are_stopped_with_their_process_group(tmp_path: Path) -> None:
    child = gateways.spawn("sleeper", ["sh", "-c", "sleep 60 & sleep 60"], tmp_path)
    assert child.alive()
    child.stop(grace_s=2)
    assert not child.alive()
    # The grandchild (the backgrounded sleep) went with the group. Dead orphans may stay
    # zombies (state Z) where PID 1 of a container does not reap them: they are gone too.
    ps = subprocess.run(["ps", "-o", "stat=", "-g", str(child.pid)], capture_output=True, text=True)
    assert [state for state in ps.stdout.split() if not state.startswith("Z")] == []


@pytest.mark.skipif(gateways.find_rt_core() is None, reason="rt-core is not installed")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_isolate_gateway_pins_the_harness_and_the_gateway_apart(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--targets", "direct,rt", "--path", "openai", "--no-plot", "--isolate-gateway")
    results = json.loads((tmp_path / "results.json").read_text())
    assert done.returncode == 0, (done.stderr[-2000:], results["errors"])
    opts = results["options"]
    assert opts["isolate_gateway"] is True and len(opts["harness_cpus"]) == 1
    assert not set(opts["harness_cpus"]) & set(opts["gateway_cpus"])
    info = results["gateways"]["rt"]
    assert info["cpus"] == opts["gateway_cpus"] and info["threads_pinned"] >= 1
    assert all(r["load"]["chunks_lost"] == 0 for r in results["runs"])
    assert "`--isolate-gateway`" in (tmp_path / "report.md").read_text()


_THREADS_AND_CHILD = ("import os, subprocess, sys, threading, time\n"
                      "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
                      "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
                      "print(child.pid, flush=True)\n"
                      "time.sleep(30)\n")


@pytest.fixture
def threads_and_child() -> Iterator[tuple[list[int], list[int]]]:
    """A process with two threads and a child: ([parent pid, child pid], every thread id)."""
    parent = subprocess.Popen([sys.executable, "-c", _THREADS_AND_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        yield [parent.pid, child_pid], [t for p in (parent.pid, child_pid) for t in thread_ids(p)]
    finally:
        _kill_tree(parent)


def _kill_tree(parent: subprocess.Popen[str]) -> None:
    for p in process_tree(parent.pid)[::-1]:
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass
    parent.wait()
    for pipe in (parent.stdin, parent.stdout):
        if pipe is not None:
            pipe.close()


def test_pin_tree_pins_every_thread_of_a_process_and_its_children(
        threads_and_child: tuple[list[int], list[int]]) -> None:
    (parent, child), tids = threads_and_child
    target = {sorted(os.sched_getaffinity(0))[-1]}
    assert set(process_tree(parent)) >= {parent, child}
    assert gateways.pin_tree(parent, target) >= 3  # the parent's two threads and the child
    assert all(os.sched_getaffinity(t) == target for t in tids)


def test_context_switches_count_every_wait_of_a_process_tree() -> None:
    # The parent starts a child that sleeps 40 times when told to: each sleep is a
    # voluntary switch of the child, read through the parent's tree.
    sleeper = ("import sys, time\n"
               "print('ready', flush=True)\n"
               "sys.stdin.readline()\n"
               "for _ in range(40): time.sleep(0.001)\n"
               "print('done', flush=True)\n"
               "time.sleep(30)\n")
    script = ("import subprocess, sys, time\n"
              f"subprocess.Popen([sys.executable, '-c', {sleeper!r}])\n"
              "time.sleep(30)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdin is not None and parent.stdout is not None
        assert parent.stdout.readline().strip() == "ready"  # the child shares the parent's pipes
        before = tree_context_switches(parent.pid)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "done"
        after = tree_context_switches(parent.pid)
        assert after[0] - before[0] >= 40
        assert after[1] >= before[1]
        assert context_switches(parent.pid)[0] <= after[0]  # the parent alone is part of the tree
    finally:
        _kill_tree(parent)
    assert context_switches(parent.pid) == (0, 0)  # gone


def test_switches_per_second() -> None:
    assert switches_per_second((100, 10), (300, 30), 2.0) == [100.0, 10.0]
    assert switches_per_second((100, 10), (300, 30), 0.0) == [0.0, 0.0]


def test_fifo_tree_puts_every_thread_of_a_process_and_its_children_in_sched_fifo(
        threads_and_child: tuple[list[int], list[int]]) -> None:
    (parent, _child), tids = threads_and_child
    if gateways.fifo_allowed():
        assert gateways.fifo_tree(parent) >= 3  # the parent's two threads and the child
        assert all(os.sched_getscheduler(t) == os.SCHED_FIFO for t in tids)
        assert all(os.sched_getparam(t).sched_priority == 1 for t in tids)
    else:
        with pytest.raises(PermissionError):
            gateways.fifo_tree(parent)
        assert all(os.sched_getscheduler(t) == os.SCHED_OTHER for t in tids)
    # Trying did not leave the harness itself in SCHED_FIFO.
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


@pytest.mark.skipif(gateways.find_rt_core() is None, reason="rt-core is not installed")
def test_gateway_fifo_runs_the_gateway_in_sched_fifo_and_says_so(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--targets", "direct,rt", "--path", "openai", "--no-plot", "--gateway-fifo")
    if not gateways.fifo_allowed():
        assert done.returncode == 2 and "--gateway-fifo needs permission" in done.stderr
        return
    results = json.loads((tmp_path / "results.json").read_text())
    assert done.returncode == 0, (done.stderr[-2000:], results["errors"])
    assert results["options"]["gateway_fifo"] is True
    assert results["gateways"]["rt"]["threads_fifo"] >= 1
    direct, rt = results["runs"]
    assert rt["load"]["chunks_lost"] == 0
    voluntary, preempted = rt["gateway"]["switches_per_s"]
    assert voluntary > 0 and preempted >= 0
    report = (tmp_path / "report.md").read_text()
    assert "`--gateway-fifo`" in report
    assert "| rt | openai | 2 |" in report and "switches/s gateway" in report


@pytest.mark.skipif(gateways.find_rt_core() is None, reason="rt-core is not installed")
def test_rt_arg_reaches_rt_core_serve_and_the_report(tmp_path: Path) -> None:
    # rt's own --realtime-priority: started with it where the harness may use SCHED_FIFO,
    # refused at start (a harness error naming the option) where it may not.
    done = run_bench(tmp_path, "--targets", "rt", "--path", "openai", "--no-plot", "--rt-arg=--realtime-priority=5")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["options"]["rt_args"] == ["--realtime-priority=5"]
    if not gateways.fifo_allowed():
        assert done.returncode == 1 and any("rt_realtime_priority" in e for e in results["errors"])
        return
    assert done.returncode == 0, (done.stderr[-2000:], results["errors"])
    assert results["gateways"]["rt"]["argv"][-1] == "--realtime-priority=5"
    [run] = results["runs"]
    assert run["load"]["chunks_lost"] == 0
    assert "`rt-core serve … --realtime-priority=5`" in (tmp_path / "report.md").read_text()
    log = (tmp_path / "logs" / "rt.log").read_text()
    assert "SCHED_FIFO at priority 5" in log
