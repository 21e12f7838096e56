"""Hardware counters of a gateway under load: instructions per chunk round trip.

    python bench/count_gateway.py --targets floor,rt --path openai --sessions 200 --repeat 3

CPU time on this shared 2-core machine moves by a third from one minute to the
next; the number of instructions a gateway executes for the same load barely
moves (about 1 % between runs here). So to tell whether a change makes rt do
less work per frame, count instructions, alternating old and new.

For each repeat, for each target in turn (each gateway started afresh, as
bench/run.py starts it, with the echo fakes in their own process): attach
``perf stat`` to the gateway's process for one load run and report user and
kernel instructions and cycles, task-clock and context switches, each divided
by the chunks sent (one round trip each: a frame in and out each way). The
counters cover the whole run (connect, stream, drain), so setup costs are
included, spread over every chunk.

Needs Linux ``perf`` with hardware counters (``perf stat -e instructions
true`` tells) and permission to attach to the gateway (root, or
``kernel.perf_event_paranoid`` ≤ 1). perf's counting slows the gateway a
little, so the latencies here are not the benchmark's: use bench/run.py for
those.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gateways
from bench.litellm_env import DEFAULT_DIR as LITELLM_DIR
from bench.litellm_env import DEFAULT_SPEC as LITELLM_SPEC
from bench.litellm_env import ensure_litellm

EVENTS = ("instructions:u", "instructions:k", "cycles:u", "cycles:k", "task-clock", "context-switches")
MODEL_OF_PATH = {"openai": gateways.OPENAI_MODEL, "gemini": gateways.GEMINI_MODEL}
MATCH_OF_PATH = {"openai": "seq", "gemini": "position"}


def parse_perf_csv(text: str) -> dict[str, float | None]:
    """``perf stat -x,`` output → {event: value}; None where perf could not count it.

    Each counter line is ``value,unit,event,run-time,percent,...``; comment and
    blank lines are skipped.  Values perf did not get (``<not supported>``,
    ``<not counted>``) become None, so a missing counter is reported as missing,
    never as zero.
    """
    out: dict[str, float | None] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) < 3 or not fields[2]:
            continue
        try:
            value: float | None = float(fields[0])
        except ValueError:
            value = None
        out[fields[2]] = value
    return out


def per_round_trip(counters: dict[str, float | None], chunks: int) -> dict[str, float | None]:
    """Each counter divided by the chunks sent (task-clock in µs); None stays None."""
    out: dict[str, float | None] = {}
    for name, value in counters.items():
        if value is None or chunks <= 0:
            out[name] = None
        elif name == "task-clock":  # perf reports milliseconds
            out["task-clock µs"] = value * 1000 / chunks
        else:
            out[name] = value / chunks
    return out


def count_one(target: str, path: str, sessions: int, duration: float, out: Path, perf: str,
              rt_core: str | None, litellm_bin: Path | None) -> dict[str, Any]:
    """One gateway, one load run under ``perf stat``: the counters and the load report."""
    logs = out / "logs"
    master_key = gateways.new_master_key()
    fake, fake_port = gateways.start_fakes(logs, duration + 600)
    gateway = None
    try:
        config = gateways.write_config(out / "gateway-config.yaml", fake_port)
        if target == "rt":
            spec = gateways.rt_spec(config, master_key, rt_core)
        elif target == "floor":
            spec = gateways.floor_spec(fake_port)
        else:
            assert litellm_bin is not None
            spec = gateways.litellm_spec(config, master_key, litellm_bin)
        gateway = gateways.start_gateway(spec, logs)
        csv_path = out / f"perf-{target}-{path}-{sessions}.csv"
        stat = subprocess.Popen(
            [perf, "stat", "-x,", "-e", ",".join(EVENTS), "-p", str(gateway.child.pid), "-o", str(csv_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # let perf attach before the load starts
        report = gateways.run_loadgen(
            spec.ws_url(MODEL_OF_PATH[path]), sessions, duration, MATCH_OF_PATH[path],
            {"gateway": gateway.child.pid}, f"count-{target}-{path}-{sessions}", 10.0, logs, master_key,
            100.0 if path == "gemini" else 0.0)
        stat.send_signal(2)  # perf stat prints its counts on SIGINT
        _, err = stat.communicate(timeout=30)
        if not csv_path.exists():
            raise RuntimeError(f"perf stat wrote nothing ({stat.returncode}): {err[-1000:]}")
        counters = parse_perf_csv(csv_path.read_text())
        chunks = int(report["chunks_sent"])
        return {"target": target, "path": path, "sessions": sessions, "chunks": chunks,
                "lost": report["chunks_lost"], "counters": counters, "per_round_trip": per_round_trip(counters, chunks)}
    finally:
        if gateway is not None:
            gateway.child.stop()
        fake.stop()


def render(runs: list[dict[str, Any]]) -> str:
    """A markdown table: every run, then the median per target."""
    cols = ["instructions:u", "instructions:k", "cycles:u", "cycles:k", "task-clock µs", "context-switches"]

    def fmt(v: float | None) -> str:
        return "—" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.2f}")

    lines = ["| target | run | chunks | lost | " + " | ".join(cols) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(cols)]
    by_target: dict[str, list[dict[str, Any]]] = {}
    for i, run in enumerate(runs):
        by_target.setdefault(run["target"], []).append(run)
        per = run["per_round_trip"]
        lines.append(f"| {run['target']} | {i + 1} | {run['chunks']} | {run['lost']} | "
                     + " | ".join(fmt(per.get(c)) for c in cols) + " |")
    for target, group in by_target.items():
        meds = []
        for c in cols:
            values = [r["per_round_trip"].get(c) for r in group]
            known = [v for v in values if v is not None]
            meds.append(fmt(statistics.median(known)) if len(known) == len(values) and known else "—")
        lines.append(f"| **{target}** | median | | | " + " | ".join(meds) + " |")
    return "\n".join(["Per chunk round trip (counter ÷ chunks sent):", "", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--targets", default="floor,rt", help="comma-separated: rt, floor, litellm")
    parser.add_argument("--path", choices=("openai", "gemini"), default="openai")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the targets this many times")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "tmp" / "count")
    parser.add_argument("--rt-core", default=None)
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_DIR)
    parser.add_argument("--litellm-spec", default=LITELLM_SPEC)
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - {"rt", "floor", "litellm"}
    if unknown or not targets:
        parser.error(f"unknown targets: {', '.join(sorted(unknown)) or '(none)'}")
    if "floor" in targets and args.path != "openai":
        parser.error("the floor relay only relays the OpenAI protocol (--path openai)")
    if not 1 <= args.sessions <= 2000 or not 0 < args.duration <= 300 or not 1 <= args.repeat <= 20:
        parser.error("bounded: 1-2000 sessions, 0-300 s, 1-20 repeats")
    perf = shutil.which("perf")
    if perf is None:
        parser.error("perf is not installed (Debian: apt-get install linux-perf)")
    litellm_bin = ensure_litellm(args.litellm_venv, args.litellm_spec)[0] if "litellm" in targets else None
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for _ in range(args.repeat):
        for target in targets:
            run = count_one(target, args.path, args.sessions, args.duration, args.out, perf, args.rt_core, litellm_bin)
            runs.append(run)
            sys.stderr.write(f"{target}: {run['per_round_trip']}\n")
    command = " ".join([Path(sys.executable).name, *sys.argv])
    (args.out / "counts.json").write_text(json.dumps({"command": command, "runs": runs}, indent=2))
    text = f"Command: `{command}`\n\n{render(runs)}\n"
    (args.out / "counts.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
