"""Profile a gateway under load: what dominates the CPU spent per relayed frame.

    python bench/profile_gateway.py --target rt --path openai --sessions 200 --duration 15

``--target floor`` profiles bench/floor_relay.py under the same load (passthrough
only), so rt's profile can be read against the least a gateway does.

Starts the echo fakes and the gateway exactly as bench/run.py does, attaches
``py-spy record`` (a sampling profiler: it reads the process from outside, so
the gateway runs unmodified and nearly at full speed; ``--nonblocking`` by
default) for the streaming window of one load run, and writes:

* ``profile-<target>-<path>-<sessions>.txt``: py-spy's collapsed stacks (feed
  them to flamegraph.pl or speedscope for a picture);
* ``profile-<target>-<path>-<sessions>.md``: the load run's numbers, the CPU per
  relayed chunk, and the top functions and packages by self time and by
  inclusive time.

py-spy is not a dependency of rt: ``.venv/bin/pip install py-spy``.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
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

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
MODEL_OF_PATH = {"openai": gateways.OPENAI_MODEL, "gemini": gateways.GEMINI_MODEL}
MATCH_OF_PATH = {"openai": "seq", "gemini": "position"}


def find_py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def package_of(file: str) -> str:
    """The top-level package of a source file as py-spy names it (``websockets/protocol.py`` -> websockets)."""
    path = file.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    head = path.lstrip("/").split("/", 1)[0]
    return head.removesuffix(".py") or "?"


def summarise(collapsed: str, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample counts per function and per package from collapsed stacks."""
    self_fn: collections.Counter[str] = collections.Counter()
    incl_fn: collections.Counter[str] = collections.Counter()
    self_pkg: collections.Counter[str] = collections.Counter()
    incl_pkg: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names: list[tuple[str, str]] = []
        for frame in stack.split(";"):
            if frame.startswith("process "):  # py-spy's per-process root frame
                continue
            match = _FRAME.match(frame.strip())
            if match:
                file = match["file"]
                names.append((f"{match['func']} ({file.rsplit('/', 1)[-1]})", package_of(file)))
            else:
                names.append((frame.strip(), "?"))
        if not names:
            continue
        leaf_fn, leaf_pkg = names[-1]
        self_fn[leaf_fn] += count
        self_pkg[leaf_pkg] += count
        for fn in {n for n, _ in names}:
            incl_fn[fn] += count
        for pkg in {p for _, p in names}:
            incl_pkg[pkg] += count
    return {
        "samples": total,
        "self_functions": self_fn.most_common(top),
        "inclusive_functions": incl_fn.most_common(top),
        "self_packages": self_pkg.most_common(top),
        "inclusive_packages": incl_pkg.most_common(top),
    }


def render(summary: dict[str, Any], report: dict[str, Any], header: str) -> str:
    total = max(summary["samples"], 1)
    lines = [header, ""]

    def table(title: str, rows: list[tuple[str, int]]) -> None:
        lines.extend([f"### {title}", "", "| % of samples | where |", "|---:|---|"])
        lines.extend(f"| {100 * n / total:.1f} | `{name}` |" for name, n in rows)
        lines.append("")

    table("Self time by package", summary["self_packages"])
    table("Self time by function", summary["self_functions"])
    table("Inclusive time by package", summary["inclusive_packages"])
    table("Inclusive time by function", summary["inclusive_functions"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--target", choices=("rt", "floor", "litellm"), default="rt")
    parser.add_argument("--path", choices=("openai", "gemini"), default="openai")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="also sample C frames (py-spy --native)")
    parser.add_argument("--blocking", action="store_true",
                        help="pause the gateway at each sample (exact stacks, slower gateway)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "tmp" / "profile")
    parser.add_argument("--rt-core", default=None)
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_DIR)
    parser.add_argument("--litellm-spec", default=LITELLM_SPEC)
    args = parser.parse_args(argv)
    if args.target == "floor" and args.path != "openai":
        parser.error("the floor relay only relays the OpenAI protocol (--path openai)")

    py_spy = find_py_spy()
    if py_spy is None:
        parser.error("py-spy is not installed: .venv/bin/pip install py-spy")
    out: Path = args.out
    logs = out / "logs"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"profile-{args.target}-{args.path}-{args.sessions}"
    master_key = gateways.new_master_key()
    fake, fake_port = gateways.start_fakes(logs, args.duration + 600)
    gateway = None
    try:
        config = gateways.write_config(out / "gateway-config.yaml", fake_port)
        if args.target == "rt":
            spec = gateways.rt_spec(config, master_key, args.rt_core)
        elif args.target == "floor":
            spec = gateways.floor_spec(fake_port)
        else:
            exe, _ = ensure_litellm(args.litellm_venv, args.litellm_spec)
            spec = gateways.litellm_spec(config, master_key, exe)
        gateway = gateways.start_gateway(spec, logs)
        raw = out / f"{stem}.txt"
        spy_argv = [py_spy, "record", "--pid", str(gateway.child.pid), "--rate", str(args.rate), "--format", "raw",
                    "--duration", str(int(args.duration + 3)), "--output", str(raw), "--subprocesses"]
        if not args.blocking:
            spy_argv.append("--nonblocking")
        if args.native:
            spy_argv.append("--native")
        spy = subprocess.Popen(spy_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.0)  # let py-spy attach before the load starts
        report = gateways.run_loadgen(spec.ws_url(MODEL_OF_PATH[args.path]), args.sessions, args.duration,
                                      MATCH_OF_PATH[args.path], {"gateway": gateway.child.pid, "fake": fake.pid},
                                      stem, 10.0, logs, master_key, 100.0 if args.path == "gemini" else 0.0)
        spy_out, _ = spy.communicate(timeout=args.duration + 120)
        if spy.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed ({spy.returncode}):\n{spy_out[-2000:]}")
        summary = summarise(raw.read_text())
        cpu = report["watched_cpu_pct"].get("gateway")
        per_chunk = (cpu / 100 * report["stream_s"] * 1e6 / report["chunks_sent"]) if cpu and report["chunks_sent"] else None
        rtt = report["rtt_ms"]
        header = "\n".join([
            f"# Profile of {args.target} ({args.path} path), {args.sessions} sessions × {args.duration:g} s",
            "",
            f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`; py-spy at {args.rate} Hz"
            f"{' (blocking)' if args.blocking else ' (non-blocking)'}; {summary['samples']} samples.",
            "",
            f"Round trip p50 {rtt['p50']} / p99 {rtt['p99']} ms; chunks sent {report['chunks_sent']}, lost "
            f"{report['chunks_lost']}; gateway CPU {cpu} % of one core (sampled, so slightly above an unprofiled run)"
            + (f" = **{per_chunk:.1f} µs of CPU per chunk round trip** (one frame in and one out each way)."
               if per_chunk else "."),
        ])
        (out / f"{stem}.md").write_text(render(summary, report, header))
        sys.stdout.write(render(summary, report, header) + "\n")
        sys.stderr.write(f"collapsed stacks: {raw}\nsummary: {out / (stem + '.md')}\n")
        return 0
    finally:
        if gateway is not None:
            gateway.child.stop()
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
