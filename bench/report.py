"""Markdown report of a benchmark invocation (from its results.json).

The tables follow the issue's layout (p50 / p99 ms and CPU of one core per
session count, direct vs rt vs LiteLLM, plus the ``floor`` relay when it was
measured: the least a Python gateway on this stack can cost) and add what makes them trustworthy:
chunks lost, the load generator's own CPU and schedule lag, whether every chunk
reached the fake, the exact command and the machine. The issue's bar is listed
with the measured values next to it; it is reported, never asserted.

``python bench/report.py RESULTS.json`` prints the report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PATH_TITLES = {"openai": "Passthrough (OpenAI Realtime upstream)", "gemini": "Translation (Gemini Live upstream)"}


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pair(rtt: dict[str, Any] | None) -> str:
    if not rtt or rtt.get("p50") is None:
        return "—"
    return f"{_f(rtt['p50'])} / {_f(rtt['p99'])}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def find_run(results: dict[str, Any], target: str, path: str, sessions: int) -> dict[str, Any] | None:
    for run in results.get("runs", []):
        if run["target"] == target and run["path"] == path and run["sessions"] == sessions:
            return dict(run)
    return None


def _direct(results: dict[str, Any], sessions: int) -> dict[str, Any] | None:
    return find_run(results, "direct", "openai", sessions)


def _usable(run: dict[str, Any] | None) -> bool:
    """A run where no session connected measured nothing (its CPU is an idle gateway's)."""
    return bool(run and run["load"]["connected"] > 0)


def _cpu(run: dict[str, Any] | None) -> float | None:
    return run.get("gateway", {}).get("cpu_pct") if run and _usable(run) else None


def _p99(run: dict[str, Any] | None) -> float | None:
    return run["load"]["rtt_ms"].get("p99") if run and _usable(run) else None


def _nothing_lost(run: dict[str, Any] | None) -> bool | None:
    """No chunk lost and no session failed (a failed session loses all its chunks)."""
    if not run:
        return None
    load = run["load"]
    return bool(load["chunks_lost"] == 0 and load["connect_failures"] == 0)


def _lost(run: dict[str, Any] | None) -> str:
    if not run:
        return "—"
    load = run["load"]
    text = str(load["chunks_lost"]) + _held(load)
    if load["connect_failures"]:
        text += f" ({load['connect_failures']} sessions failed)"
    return text


def _has_floor(results: dict[str, Any], path: str) -> bool:
    """Whether the floor relay was measured on this path (never on translation, nor in older results)."""
    return any(r["target"] == "floor" and r["path"] == path for r in results.get("runs", []))


def path_table(results: dict[str, Any], path: str) -> list[str]:
    """One table per path: each session count on one line, the targets side by side.

    The floor's columns appear only when it was measured, so results without it
    (older files, or ``--targets`` without floor) render exactly as before.
    """
    sessions = results["options"]["sessions"]
    floor_on = _has_floor(results, path)
    floor_head = ("floor p50 / p99 ms | floor CPU % | ", "---|---:|") if floor_on else ("", "")
    lines = [
        f"### {PATH_TITLES[path]}",
        "",
        f"| sessions | direct p50 / p99 ms | {floor_head[0]}rt p50 / p99 ms | rt CPU % | rt lost | LiteLLM p50 / p99 ms "
        "| LiteLLM CPU % | LiteLLM lost | rt CPU ÷ LiteLLM CPU | rt p99 ÷ direct p99 | load-gen CPU % / lag p99 ms |",
        f"|---:|---|{floor_head[1]}---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for n in sessions:
        direct = _direct(results, n)
        floor = find_run(results, "floor", path, n) if floor_on else None
        rt = find_run(results, "rt", path, n)
        lite = find_run(results, "litellm", path, n)
        if not (direct or floor or rt or lite):
            continue
        lags = [r["load"] for r in (direct, floor, rt, lite) if r]
        loadgen = ", ".join(f"{_f(x['loadgen_cpu_pct'], 0)} / {_f(x['schedule_lag_ms']['p99'])}" for x in lags)
        cpu_ratio = _ratio(_cpu(rt), _cpu(lite))
        p99_ratio = _ratio(_p99(rt), _p99(direct))
        floor_cells = (f"| {_pair(floor['load']['rtt_ms'] if floor else None)} | {_f(_cpu(floor), 1)} "
                       if floor_on else "")
        lines.append(
            f"| {n} | {_pair(direct['load']['rtt_ms'] if direct else None)} {floor_cells}"
            f"| {_pair(rt['load']['rtt_ms'] if rt else None)} | {_f(_cpu(rt), 1)} | {_lost(rt)} "
            f"| {_pair(lite['load']['rtt_ms'] if lite else None)} | {_f(_cpu(lite), 1)} | {_lost(lite)} "
            f"| {_f(cpu_ratio)} | {_f(p99_ratio)} | {loadgen} |"
        )
    order = "direct, floor, rt, LiteLLM" if floor_on else "direct, rt, LiteLLM"
    lines += ["", f"Load-gen column: one `CPU / lag p99` pair per run on the line ({order})."]
    if floor_on:
        lines.append("Floor: bench/floor_relay.py, a picows + uvloop relay that only forwards frames (no parsing, "
                     "auth, routing or logging), the least any Python gateway on this stack can cost.")
    if path == "gemini":
        lines.append("Translated audio is matched by duration, so round trips include any buffering in the "
                     "gateway's resampler; *held* = trailing audio still inside it when the stream stopped.")
    lines.append("")
    return lines


def memory_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "### Start and memory",
        "",
        "| gateway | time to healthy s | idle RSS MiB | idle CPU % | RSS before / peak / after / settled at the largest run, MiB | RSS at end MiB |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for target, info in results.get("gateways", {}).items():
        runs = [r for r in results["runs"] if r["target"] == target and "gateway" in r]
        largest = max(runs, key=lambda r: (r["sessions"], r["path"] == "openai"), default=None)
        mem = "—"
        if largest:
            g = largest["gateway"]
            mem = (f"{_f(g['rss_before_mib'], 1)} / {_f(g['rss_peak_mib'], 1)} / {_f(g['rss_after_mib'], 1)} / "
                   f"{_f(g['rss_settled_mib'], 1)} ({largest['path']}, {largest['sessions']} sessions)")
        lines.append(f"| {target} | {_f(info.get('time_to_healthy_s'))} | {_f(info.get('idle_rss_mib'), 1)} "
                     f"| {_f(info.get('idle_cpu_pct'), 1)} | {mem} | {_f(info.get('rss_end_mib'), 1)} |")
    lines.append("")
    return lines


def _check(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def bar_lines(results: dict[str, Any]) -> list[str]:
    """The issue's bar, each line with the measured values (— when a run is missing)."""
    lines = ["### The bar (from the issue), as measured here", ""]

    def cmp(a: float | None, b: float | None, factor: float) -> bool | None:
        return None if a is None or b is None else a <= factor * b

    rt200, lite200, d200 = (find_run(results, "rt", "openai", 200), find_run(results, "litellm", "openai", 200),
                            _direct(results, 200))
    lines.append(
        f"- Passthrough, 200 sessions: rt CPU {_f(_cpu(rt200), 1)} % ≤ ⅓ × LiteLLM {_f(_cpu(lite200), 1)} % → "
        f"{_check(cmp(_cpu(rt200), _cpu(lite200), 1 / 3))}; rt p99 {_f(_p99(rt200))} ms ≤ 2 × direct p99 "
        f"{_f(_p99(d200))} ms → {_check(cmp(_p99(rt200), _p99(d200), 2))}; chunks lost {_lost(rt200)} → "
        f"{_check(_nothing_lost(rt200))}"
    )
    rt500 = find_run(results, "rt", "openai", 500)
    lag500 = rt500["load"]["schedule_lag_ms"]["p99"] if rt500 else None
    cpu500 = _cpu(rt500)
    lines.append(
        f"- Passthrough, 500 sessions: chunks lost {_lost(rt500)} → {_check(_nothing_lost(rt500))}; "
        f"rt CPU {_f(cpu500, 1)} % ≤ 55 % → {_check(None if cpu500 is None else cpu500 <= 55)} "
        f"(load-gen lag p99 {_f(lag500)} ms)"
    )
    g_rt, g_lite = find_run(results, "rt", "gemini", 200), find_run(results, "litellm", "gemini", 200)
    lines.append(
        f"- Gemini translation, 200 sessions: rt CPU {_f(_cpu(g_rt), 1)} % ≤ ⅓ × LiteLLM {_f(_cpu(g_lite), 1)} % → "
        f"{_check(cmp(_cpu(g_rt), _cpu(g_lite), 1 / 3))}; rt p99 {_f(_p99(g_rt))} ms ≤ 3 × direct p99 "
        f"{_f(_p99(d200))} ms → {_check(cmp(_p99(g_rt), _p99(d200), 3))}; chunks lost {_lost(g_rt)} → "
        f"{_check(_nothing_lost(g_rt))}"
    )
    info = results.get("gateways", {}).get("rt", {})
    idle, healthy = info.get("idle_rss_mib"), info.get("time_to_healthy_s")
    lines.append(
        f"- Idle RSS {_f(idle, 1)} MiB ≤ 60 MiB → {_check(None if idle is None else idle <= 60)}; healthy after "
        f"{_f(healthy)} s ≤ 1 s → {_check(None if healthy is None else healthy <= 1)}"
    )
    if rt500 and "gateway" in rt500:
        g = rt500["gateway"]
        ok = g["rss_settled_mib"] <= 1.2 * g["rss_before_mib"] if g["rss_before_mib"] else None
        lines.append(f"- RSS after the 500-session run: {_f(g['rss_settled_mib'], 1)} MiB settled vs "
                     f"{_f(g['rss_before_mib'], 1)} MiB before (≤ +20 %) → {_check(ok)}")
    else:
        lines.append("- RSS after the 500-session run: — (no rt 500-session passthrough run)")
    lines += floor_lines(results)
    plugins = results.get("versions", {}).get("rt_plugins") or []
    lines += ["", f"rt plugins installed during the run: {', '.join(plugins) if plugins else 'none'}.", ""]
    return lines


def _us_per_chunk(run: dict[str, Any] | None) -> float | None:
    return run.get("gateway", {}).get("cpu_us_per_chunk") if run and _usable(run) else None


def floor_lines(results: dict[str, Any]) -> list[str]:
    """rt against the floor relay on every passthrough session count both were run at.

    Not part of the issue's bar; beside it, they say how much of rt's cost any
    Python gateway on this stack would pay anyway.
    """
    if not _has_floor(results, "openai"):
        return []
    lines = ["- Against the floor (bench/floor_relay.py, passthrough; beside the bar, not part of it):"]
    for n in results["options"]["sessions"]:
        floor, rt, direct = find_run(results, "floor", "openai", n), find_run(results, "rt", "openai", n), _direct(results, n)
        if not floor:
            continue
        us_rt, us_floor = _us_per_chunk(rt), _us_per_chunk(floor)
        us = f", {_f(us_rt, 0)} / {_f(us_floor, 0)} µs per chunk" if us_rt is not None or us_floor is not None else ""
        lines.append(
            f"  - {n} sessions: rt CPU ÷ floor CPU {_f(_ratio(_cpu(rt), _cpu(floor)))} "
            f"(rt {_f(_cpu(rt), 1)} % / floor {_f(_cpu(floor), 1)} %{us}); "
            f"floor p99 ÷ direct p99 {_f(_ratio(_p99(floor), _p99(direct)))} "
            f"(floor {_f(_p99(floor))} ms / direct {_f(_p99(direct))} ms)"
        )
    return lines


def detail_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "### Every run",
        "",
        "| target | path | sessions | connected | sent | received | lost | unmatched / corrupt | p50 | p95 | p99 | max ms "
        "| gateway CPU % (µs per chunk) | fake CPU % | load-gen CPU % | lag p50 / p99 / max ms | RSS before / peak / after / settled MiB "
        "| all chunks reached the fake | other CPU % | switches/s gateway, fake, load-gen (voluntary / preempted) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---|",
    ]
    each_round = results.get("runs_each_round")
    for run in each_round or results.get("runs", []):
        load = run["load"]
        rtt, lag = load["rtt_ms"], load["schedule_lag_ms"]
        g = run.get("gateway")
        label_round = f" (round {run.get('round')})" if each_round else ""
        rss = "—" if not g else (f"{_f(g['rss_before_mib'], 1)} / {_f(g['rss_peak_mib'], 1)} / "
                                 f"{_f(g['rss_after_mib'], 1)} / {_f(g['rss_settled_mib'], 1)}")
        lines.append(
            f"| {run['target']}{label_round} "
            f"| {run['path']} | {run['sessions']} | {load['connected']} | {load['chunks_sent']} "
            f"| {load['chunks_received']} | {load['chunks_lost']}{_held(load)} "
            f"| {load['chunks_unmatched']} / {load['chunks_corrupt']} "
            f"| {_f(rtt['p50'])} | {_f(rtt['p95'])} | {_f(rtt['p99'])} | {_f(rtt['max'])} "
            f"| {_f(g['cpu_pct'] if g else None, 1)}{_us(g)} | {_f(run['fake']['cpu_pct'], 1)} | {_f(load['loadgen_cpu_pct'], 1)} "
            f"| {_f(lag['p50'])} / {_f(lag['p99'])} / {_f(lag['max'])} | {rss} "
            f"| {'yes' if run['fake']['all_chunks_reached_fake'] else '**no**'} | {_f(run.get('other_cpu_pct'), 1)} "
            f"| {_switches(g, run['fake'], load)} |"
        )
    lines += ["", "Other CPU: busy time of all cores over the window minus the gateway, the fake and the load "
              "generator, in % of one core — other work on the machine (and kernel work charged to no process); "
              "a large value makes that run suspect.",
              "",
              "Switches/s: context switches per second over the window, voluntary (waiting for a socket or a "
              "timer) / preempted (the kernel gave the core to another task while the process could still run; "
              "every frame it held then waited). Gateway first (— for direct runs), then the fake, then the load "
              "generator.", ""]
    return lines


def _switches(gateway: dict[str, Any] | None, fake: dict[str, Any], load: dict[str, Any]) -> str:
    def pair(value: list[float] | None) -> str:
        return "—" if not value else f"{value[0]:.0f} / {value[1]:.0f}"

    return ", ".join(pair(v) for v in (gateway.get("switches_per_s") if gateway else None,
                                      fake.get("switches_per_s"), load.get("loadgen_switches_per_s")))


def _stack(versions: dict[str, Any]) -> str:
    names = [f"{n} {versions[n]}" for n in ("picows", "aiofastnet", "uvloop") if versions.get(n)]
    return "; load generator and fakes on " + ", ".join(names) if names else ""


def _held(load: dict[str, Any]) -> str:
    held = load.get("chunks_held_at_end") or 0
    return f" (+{held} held)" if held else ""


def _us(gateway: dict[str, Any] | None) -> str:
    value = gateway.get("cpu_us_per_chunk") if gateway else None
    return "" if value is None else f" ({value:.0f} µs)"


def rounds_lines(results: dict[str, Any]) -> list[str]:
    """With ``--rounds N``: what the tables above stand for, and how far the rounds spread."""
    rounds = results.get("options", {}).get("rounds") or 1
    if rounds <= 1 or not results.get("runs_each_round"):
        return []
    lines = [
        "### Rounds",
        "",
        f"The whole sequence ran {rounds} times; every table above shows each run's median round "
        "(losses and failures: the worst round; see bench/rounds.py). The spread over the rounds:",
        "",
        "| target | path | sessions | gateway CPU % min – max | p99 ms min – max |",
        "|---|---|---:|---|---|",
    ]
    for run in results["runs"]:
        spread = run.get("spread") or {}
        cpu, p99 = spread.get("gateway_cpu_pct"), spread.get("p99_ms")
        lines.append(
            f"| {run['target']} | {run['path']} | {run['sessions']} "
            f"| {f'{_f(cpu[0], 1)} – {_f(cpu[1], 1)}' if cpu else '—'} "
            f"| {f'{_f(p99[0])} – {_f(p99[1])}' if p99 else '—'} |"
        )
    return lines + [""]


def render_markdown(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    versions = results.get("versions", {})
    opts = results.get("options", {})
    lines = [
        "# rt benchmark results",
        "",
        f"Command: `{results.get('command', '')}`",
        "",
        f"Run {results.get('started_at', '?')} → {results.get('finished_at', '?')}; "
        f"{_f(opts.get('duration_s'), 0)} s of streaming per run, 20 ms pcm16 24 kHz chunks at real-time pace, "
        "echoed by bench/fakes.py; CPU in % of one core over the streaming window (whole process tree).",
        "",
        f"Machine: {machine.get('cpu_model')} × {machine.get('cores')} cores, {machine.get('mem_total_gib')} GiB, "
        f"kernel {machine.get('kernel')}, Python {machine.get('python')}, load average at start "
        f"{machine.get('loadavg_at_start')}.",
        "",
        f"Versions: rt-core {versions.get('rt-core') or '—'}, LiteLLM {versions.get('litellm') or '—'}"
        + _stack(versions) + ".",
        "",
    ]
    if opts.get("isolate_gateway"):
        lines += [f"Layout: load generator and echo fakes pinned to core(s) {opts.get('harness_cpus')}, each gateway "
                  f"to core(s) {opts.get('gateway_cpus')} (`--isolate-gateway`); direct runs had the harness's "
                  "core(s) only.", ""]
    if opts.get("rt_args"):
        lines += [f"rt ran as `rt-core serve … {' '.join(opts['rt_args'])}` (`--rt-arg`).", ""]
    if opts.get("gateway_fifo"):
        lines += ["Scheduling: each gateway's threads ran at SCHED_FIFO priority 1 (`--gateway-fifo`, a diagnostic): "
                  "the load generator and the fakes never preempted it, and it got a core as soon as it woke.", ""]
    for path in ("openai", "gemini"):
        if any(r["path"] == path and r["target"] != "direct" for r in results.get("runs", [])) or (
            path == "openai" and results.get("runs")
        ):
            lines += path_table(results, path)
    lines += memory_table(results)
    lines += bar_lines(results)
    lines += rounds_lines(results)
    lines += detail_table(results)
    if results.get("notes"):
        lines += ["### Notes", ""] + [f"- {n.splitlines()[0][:300]}" for n in results["notes"]] + [""]
    if results.get("warnings"):
        lines += ["### Warnings", ""] + [f"- {w.splitlines()[0][:300]}" for w in results["warnings"]] + [""]
    if results.get("errors"):
        lines += ["### Errors", ""] + [f"- {e.splitlines()[0][:300]}" for e in results["errors"]] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        sys.stderr.write("usage: python bench/report.py RESULTS.json\n")
        return 2
    sys.stdout.write(render_markdown(json.loads(Path(args[0]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
