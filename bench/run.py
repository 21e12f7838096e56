"""Benchmark orchestrator: direct vs floor vs rt vs LiteLLM, side by side in one invocation.

    python bench/run.py --targets direct,floor,rt,litellm --path openai,gemini \\
        --sessions 1,100,200,500 --duration 20 --out docs/perf-results/

What one invocation does:

1. starts the echo fakes (bench/fakes.py) in their own process;
2. ``direct``: runs the load straight to the OpenAI echo fake for every session
   count, the baseline with no gateway in between;
3. for each gateway (``floor`` = bench/floor_relay.py, a minimal picows relay
   that only forwards frames, the least any Python gateway on this stack can
   cost; ``rt`` = ``rt-core serve``; ``litellm`` = LiteLLM's proxy from a
   throwaway virtualenv, see bench/litellm_env.py; rt and LiteLLM started from
   the same generated config file): measures time-to-healthy and idle RSS, then for each
   path (``openai`` passthrough, ``gemini`` translation) and session count runs
   the load while reading the gateway's CPU (whole process tree) over the
   streaming window, and its RSS before, right after and after a settle pause;
   checks through the fake's counters that every chunk really went through it;
4. with ``--rounds N``, does 2-3 N times over and reports each run by its
   median round (bench/rounds.py), every round kept beside it;
5. writes ``results.json`` (everything, including the load generator's own CPU and
   schedule lag), ``report.md`` (tables, the issue's bar with measured values,
   the exact command, the machine) and ``plot.png``.

Every load-generator run is its own process with a hard time limit; every child
dies with this process; sessions, duration and total run time are bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gateways
from bench.litellm_env import DEFAULT_DIR as LITELLM_DIR
from bench.litellm_env import DEFAULT_SPEC as LITELLM_SPEC
from bench.litellm_env import ensure_litellm
from bench.loadgen import MAX_DURATION_S, MAX_SESSIONS
from bench.procstat import TreeSample, machine_info, sample_tree
from bench.rounds import merge, merge_runs

BENCH_DIR = Path(__file__).resolve().parent
TARGETS = ("direct", "floor", "rt", "litellm")
GATEWAYS = ("floor", "rt", "litellm")
PATHS = ("openai", "gemini")
# The floor relay translates nothing: it only has the passthrough path.
PATHS_OF_GATEWAY = {"floor": ("openai",), "rt": PATHS, "litellm": PATHS}
MODEL_OF_PATH = {"openai": gateways.OPENAI_MODEL, "gemini": gateways.GEMINI_MODEL}
# Passthrough replies carry the very bytes sent (matched by content); translated
# replies are resampled, possibly re-chunked audio (matched by returned duration).
MATCH_OF_PATH = {"openai": "seq", "gemini": "position"}
FAKE_COUNTER_OF_PATH = {"openai": "openai_appends", "gemini": "gemini_audio_chunks"}
MAX_ROUNDS = 9


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    sys.stderr.write(f"[{stamp}] {message}\n")
    sys.stderr.flush()


class Sampler:
    """Reads a process tree's CPU and RSS every ``period_s`` in a background thread."""

    def __init__(self, pid: int, period_s: float = 0.5) -> None:
        self.pid = pid
        self.period_s = period_s
        self.samples: list[TreeSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{pid}", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(sample_tree(self.pid))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                return
            self._stop.wait(self.period_s)

    def peak_rss_mib(self, start: float, end: float) -> float | None:
        values = [s.rss_kib for s in self.samples if start <= s.t <= end]
        return round(max(values) / 1024, 1) if values else None

    def series(self, origin: float) -> list[list[float]]:
        """[[t since origin, CPU % since previous sample, RSS MiB], ...] for plots."""
        rows: list[list[float]] = []
        for prev, cur in zip(self.samples, self.samples[1:]):
            wall = cur.t - prev.t
            cpu = 100.0 * (cur.cpu_s - prev.cpu_s) / wall if wall > 0 else 0.0
            rows.append([round(cur.t - origin, 2), round(cpu, 1), round(cur.rss_kib / 1024, 1)])
        return rows


def _mib(sample: TreeSample) -> float:
    return round(sample.rss_kib / 1024, 1)


class Budget:
    """The whole invocation's wall-clock bound: runs that would not fit are skipped."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def allows(self, seconds: float) -> bool:
        return time.monotonic() + seconds < self.deadline


class Bench:
    """One invocation: its options, its children, and the results written as they come."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.logs: Path = args.logs
        self.budget = Budget(args.max_total_time)
        self.master_key = gateways.new_master_key()
        self.round = 1
        #: --isolate-gateway: the cores each gateway is pinned to (the harness has the rest).
        self.gateway_cpus: set[int] = set()
        self.results: dict[str, Any] = {
            "command": shlex.join([Path(sys.executable).name, *sys.argv]),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "options": {
                "targets": args.targets, "paths": args.path, "sessions": args.sessions,
                "duration_s": args.duration, "drain_timeout_s": args.drain_timeout, "settle_s": args.settle,
                "tail_allowance_ms": args.tail_allowance, "rounds": args.rounds,
                "isolate_gateway": args.isolate_gateway,
                "gateway_fifo": args.gateway_fifo,
                "rt_args": args.rt_arg,
            },
            "versions": {
                "rt-core": _dist_version("rt-core"), "rt_plugins": _rt_plugins(),
                # The client and fake stacks (picows uses aiofastnet when it is installed).
                **{name: _dist_version(name) for name in ("picows", "aiofastnet", "uvloop", "websockets", "soxr")},
            },
            "gateways": {},
            "runs": [],
            "errors": [],  # the harness failed (a gateway did not start, a run crashed)
            "warnings": [],  # measured trouble (failed sessions, chunks that never reached the fake)
            "notes": [],  # what was deliberately not run, and why
        }

    # -------------------------------------------------------------- output

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "results.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=1))
        tmp.replace(path)

    def error(self, where: str, exc: BaseException) -> None:
        text = f"{where}: {type(exc).__name__}: {exc}"
        log(text[:2000])
        self.results["errors"].append(text[:4000])
        self.save()

    # -------------------------------------------------------------- runs

    def run_estimate_s(self, sessions: int) -> float:
        return float(self.args.duration + self.args.settle + self.args.pause + 5 + sessions * 0.01)

    def one_run(self, target: str, path: str, sessions: int, url: str, fake_pid: int, fake_port: int,
                gateway: gateways.Child | None, sampler: Sampler | None) -> dict[str, Any] | None:
        label = f"{target}-{path}-{sessions}"
        if not self.budget.allows(self.run_estimate_s(sessions)):
            self.results["errors"].append(f"{label}: skipped, --max-total-time reached")
            log(f"{label}: skipped (time budget)")
            return None
        watch = {"fake": fake_pid}
        if gateway is not None:
            watch["gateway"] = gateway.pid
        before = sample_tree(gateway.pid) if gateway else None
        fake_before = gateways.fake_stats(fake_port)
        log(f"{label}: {sessions} sessions x {self.args.duration:g}s")
        match = MATCH_OF_PATH[path] if gateway else "seq"
        report = gateways.run_loadgen(url, sessions, self.args.duration, match, watch, label, self.args.drain_timeout,
                                      self.logs, self.master_key,
                                      self.args.tail_allowance if match == "position" else 0.0)
        fake_after = gateways.fake_stats(fake_port)
        record: dict[str, Any] = {"target": target, "path": path, "sessions": sessions, "round": self.round,
                                  "load": report}
        counter = FAKE_COUNTER_OF_PATH[path] if gateway else "openai_appends"
        echoed = fake_after.get(counter, 0) - fake_before.get(counter, 0)
        if match == "position":
            # Re-chunked: compare audio durations; what may still sit in the gateway's
            # resampler at the end (the tail allowance) need not have arrived.
            audio_ms = fake_after.get("gemini_audio_in_ms", 0) - fake_before.get("gemini_audio_in_ms", 0)
            missing_ms = report["chunks_sent"] * 20 - audio_ms
            reached = missing_ms <= report["connected"] * self.args.tail_allowance + 1
        else:
            audio_ms = None
            reached = echoed == report["chunks_sent"]
        slow = {k: fake_after.get(k, 0) - fake_before.get(k, 0) for k in ("openai_slow_path", "gemini_slow_path")}
        ours = report["loadgen_cpu_pct"] + sum(v for v in report["watched_cpu_pct"].values() if v is not None)
        # CPU that none of the benchmark's processes used: other work on a shared machine
        # (plus kernel work not charged to any process). Large values make a run suspect.
        record["other_cpu_pct"] = round(report["system_cpu_pct"] - ours, 1)
        record["fake"] = {
            "cpu_pct": report["watched_cpu_pct"].get("fake"),
            "switches_per_s": report.get("watched_switches_per_s", {}).get("fake"),
            "chunks_echoed": echoed,
            "audio_in_ms": audio_ms,
            "slow_path_frames": slow,
            # Every chunk the client sent must have reached the fake: proof that the
            # gateway relays to the fake and does not answer (or drop) by itself.
            "all_chunks_reached_fake": reached,
        }
        if gateway is not None and before is not None:
            after_run = sample_tree(gateway.pid)
            time.sleep(self.args.settle)
            settled = sample_tree(gateway.pid)
            window = report["stream_window_mono"]
            cpu = report["watched_cpu_pct"].get("gateway")
            record["gateway"] = {
                "cpu_pct": cpu,
                # CPU time per chunk round trip (one client frame in + one upstream frame
                # back, each relayed): the unit the floor is stated in.
                "cpu_us_per_chunk": round(cpu / 100 * report["stream_s"] * 1e6 / report["chunks_sent"], 1)
                if cpu is not None and report["chunks_sent"] else None,
                # [voluntary, involuntary] per second over the window (bench/procstat.py)
                "switches_per_s": report.get("watched_switches_per_s", {}).get("gateway"),
                "rss_before_mib": _mib(before),
                "rss_peak_mib": sampler.peak_rss_mib(window[0], window[1] + 1) if sampler else None,
                "rss_after_mib": _mib(after_run),
                "rss_settled_mib": _mib(settled),
                "processes": len(settled.pids),
                "alive": gateway.alive(),
            }
        else:
            time.sleep(self.args.pause)
        self.results["runs"].append(record)
        if report["connect_failures"]:
            first = next(iter(report["connect_errors"]), "")
            self.results["warnings"].append(f"{label}: {report['connect_failures']} of {sessions} sessions failed: {first}")
        if not record["fake"]["all_chunks_reached_fake"]:
            got = f"{audio_ms} ms of audio" if audio_ms is not None else f"{echoed} chunks"
            self.results["warnings"].append(f"{label}: the fake received {got} for {report['chunks_sent']} chunks sent")
        self.save()
        rtt = report["rtt_ms"]
        cpu = record.get("gateway", {}).get("cpu_pct")
        log(f"{label}: p50 {rtt['p50']} p99 {rtt['p99']} ms, lost {report['chunks_lost']}, "
            f"connect failures {report['connect_failures']}, gateway CPU {cpu} %, "
            f"loadgen CPU {report['loadgen_cpu_pct']} % lag p99 {report['schedule_lag_ms']['p99']} ms")
        return record

    def run_direct(self, fake_pid: int, fake_port: int) -> None:
        url = f"ws://127.0.0.1:{fake_port}/v1/realtime?model={gateways.OPENAI_MODEL}"
        for sessions in self.args.sessions:
            try:
                self.one_run("direct", "openai", sessions, url, fake_pid, fake_port, None, None)
            except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
                self.error(f"direct-{sessions}", exc)

    def gateway_spec(self, target: str, config: Path, fake_port: int) -> gateways.GatewaySpec:
        if target == "floor":
            return gateways.floor_spec(fake_port)
        if target == "rt":
            return gateways.rt_spec(config, self.master_key, self.args.rt_core, self.args.rt_arg)
        exe, version = ensure_litellm(self.args.litellm_venv, self.args.litellm_spec, log=log)
        self.results["versions"]["litellm"] = version
        return gateways.litellm_spec(config, self.master_key, exe)

    def run_gateway(self, target: str, config: Path, fake_pid: int, fake_port: int) -> None:
        paths = [p for p in self.args.path if p in PATHS_OF_GATEWAY[target]]
        skipped = [p for p in self.args.path if p not in paths]
        if skipped:
            note = (f"{target}: path {', '.join(skipped)} not run — the {target} relay only forwards frames, "
                    "it has no translation")
            self.results["notes"].append(note)
            log(note)
        if not paths:
            self.save()
            return
        spec = self.gateway_spec(target, config, fake_port)
        log(f"{target}: starting {shlex.join(spec.argv)}")
        started = gateways.start_gateway(spec, self.logs, timeout_s=self.args.start_timeout)
        info: dict[str, Any] = {
            "argv": spec.argv,
            "time_to_healthy_s": started.time_to_healthy_s,
            "idle_rss_mib": started.idle_rss_mib,
            "idle_cpu_pct": started.idle_cpu_pct,
        }
        if self.gateway_cpus:
            info["cpus"] = sorted(self.gateway_cpus)
            info["threads_pinned"] = gateways.pin_tree(started.child.pid, self.gateway_cpus)
        if self.args.gateway_fifo:
            info["threads_fifo"] = gateways.fifo_tree(started.child.pid)
        self.results["gateways"][target] = info
        self.results.setdefault("gateway_rounds", {}).setdefault(target, []).append(info)
        self.save()
        log(f"{target}: healthy after {started.time_to_healthy_s}s, idle RSS {started.idle_rss_mib} MiB")
        origin = time.monotonic()
        try:
            with Sampler(started.child.pid) as sampler:
                for path in paths:
                    for sessions in self.args.sessions:
                        if not started.child.alive():
                            raise RuntimeError(f"{target} died (exit {started.child.proc.returncode}):\n"
                                               f"{started.child.log_tail()}")
                        try:
                            self.one_run(target, path, sessions, spec.ws_url(MODEL_OF_PATH[path]), fake_pid,
                                         fake_port, started.child, sampler)
                        except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
                            self.error(f"{target}-{path}-{sessions}", exc)
                info["rss_end_mib"] = _mib(sample_tree(started.child.pid))
                info["series"] = sampler.series(origin)
        finally:
            info["exit_code"] = started.child.stop()
            self.save()

    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        self.save()
        if self.args.isolate_gateway:
            # This process's affinity is inherited by the fakes and every load generator it starts.
            cpus = os.sched_getaffinity(0)
            harness = {min(cpus)}
            self.gateway_cpus = cpus - harness
            os.sched_setaffinity(0, harness)
            self.results["options"]["harness_cpus"] = sorted(harness)
            self.results["options"]["gateway_cpus"] = sorted(self.gateway_cpus)
        fake, fake_port = gateways.start_fakes(self.logs, self.args.max_total_time + 60)
        self.results["fake_port"] = fake_port
        try:
            config = gateways.write_config(self.out / "gateway-config.yaml", fake_port)
            for self.round in range(1, self.args.rounds + 1):
                if self.args.rounds > 1:
                    log(f"round {self.round} of {self.args.rounds}")
                self.run_round(config, fake.pid, fake_port)
        finally:
            fake.stop()
            if self.args.rounds > 1:
                self.merge_rounds()
            self.results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self.save()
        self.write_outputs()
        return 0 if not self.results["errors"] else 1

    def run_round(self, config: Path, fake_pid: int, fake_port: int) -> None:
        """Every target once: direct first, then each gateway started afresh."""
        if "direct" in self.args.targets:
            self.run_direct(fake_pid, fake_port)
        for target in GATEWAYS:
            if target not in self.args.targets:
                continue
            try:
                self.run_gateway(target, config, fake_pid, fake_port)
            except (RuntimeError, TimeoutError, OSError, FileNotFoundError,
                    subprocess.SubprocessError) as exc:
                self.error(target, exc)

    def merge_rounds(self) -> None:
        """``runs`` and ``gateways`` become the per-round medians; the rounds stay beside them."""
        self.results["runs_each_round"] = self.results["runs"]
        self.results["runs"] = merge_runs(self.results["runs_each_round"])
        for target, infos in self.results.get("gateway_rounds", {}).items():
            merged = merge(infos)
            merged["series"] = infos[-1].get("series")  # the plot's RSS-over-time line: the last round
            merged["rounds"] = len(infos)
            self.results["gateways"][target] = merged

    def write_outputs(self) -> None:
        from bench.report import render_markdown

        (self.out / "report.md").write_text(render_markdown(self.results))
        if not self.args.no_plot:
            try:
                from bench.plot import plot_results

                plot_results(self.results, self.out / "plot.png")
            except Exception as exc:  # noqa: BLE001 - a plot failure must not lose the numbers
                self.error("plot", exc)
        log(f"results in {self.out}/ (results.json, report.md{'' if self.args.no_plot else ', plot.png'})")


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _rt_plugins() -> list[str]:
    return sorted(f"{ep.name} ({ep.value})" for ep in importlib.metadata.entry_points(group="rt.plugins"))


def _int_list(text: str) -> list[int]:
    values = [int(x) for x in text.split(",") if x.strip()]
    if not values or any(not 1 <= v <= MAX_SESSIONS for v in values):
        raise argparse.ArgumentTypeError(f"session counts must be in 1..{MAX_SESSIONS}")
    return values


def _choice_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [x.strip() for x in text.split(",") if x.strip()]
        bad = [v for v in values if v not in choices]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}")
        return values

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--targets", type=_choice_list(TARGETS), default=list(TARGETS))
    parser.add_argument("--path", type=_choice_list(PATHS), default=list(PATHS),
                        help="openai = passthrough, gemini = translation (gateways only)")
    parser.add_argument("--sessions", type=_int_list, default=[1, 100, 200, 500])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of streaming per run")
    parser.add_argument("--drain-timeout", type=float, default=10.0,
                        help="seconds to wait for outstanding echoes after the last chunk")
    parser.add_argument("--tail-allowance", type=float, default=100.0, metavar="MS",
                        help="translated paths: trailing audio per session that may stay in a resampler "
                             "when the stream stops (reported as held, not lost)")
    parser.add_argument("--settle", type=float, default=5.0, help="pause after a gateway run before reading RSS again")
    parser.add_argument("--pause", type=float, default=2.0, help="pause after a direct run")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "tmp" / "latest",
                        help="where results.json, report.md and plot.png go (e.g. docs/perf-results/)")
    parser.add_argument("--logs", type=Path, default=BENCH_DIR / "results" / "tmp" / "logs",
                        help="child processes' output (kept out of --out so it is not committed with results)")
    parser.add_argument("--max-total-time", type=float, default=3 * 3600, help="bound on the whole invocation (s)")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="bound on a gateway's start (s)")
    parser.add_argument("--rt-core", default=None, help="path of the rt-core script (default: beside this Python)")
    parser.add_argument("--rt-arg", action="append", default=[], metavar="ARG",
                        help="one more argument for `rt-core serve` (repeatable), e.g. --rt-arg=--realtime-priority=10")
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_DIR)
    parser.add_argument("--litellm-spec", default=LITELLM_SPEC)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the whole sequence this many times and report each run's median round "
                             "(bench/rounds.py); worth it on a shared machine")
    parser.add_argument("--isolate-gateway", action="store_true",
                        help="run the load generator and the echo fakes on the first core and each gateway on "
                             "the others (as in production, where clients and provider are other machines); "
                             "direct runs keep the harness on the first core too")
    parser.add_argument("--gateway-fifo", action="store_true",
                        help="diagnostic: run each gateway's threads at SCHED_FIFO priority 1, so the load generator "
                             "and the fakes never preempt it and it gets a core as soon as it wakes; what is left "
                             "of its added latency is its own work (needs root or CAP_SYS_NICE)")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.gateway_fifo and not gateways.fifo_allowed():
        parser.error("--gateway-fifo needs permission to set SCHED_FIFO (root or CAP_SYS_NICE)")
    if args.isolate_gateway and len(os.sched_getaffinity(0)) < 2:
        parser.error("--isolate-gateway needs at least two cores")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be in 1..{MAX_ROUNDS}")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S}]")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop every child.
    signal.signal(signal.SIGTERM, _interrupt)
    bench = Bench(args)
    try:
        return bench.run()
    except KeyboardInterrupt:
        log("interrupted: children stopped, partial results kept")
        bench.results["errors"].append("interrupted")
        bench.save()
        return 130


if __name__ == "__main__":
    sys.exit(main())
