"""PNG plot of a benchmark invocation: latency percentiles and CPU vs sessions.

Three panels side by side: round-trip p50, round-trip p99 (both log scale, ms)
and gateway CPU (% of one core), each against the number of sessions. Colours
are the targets (direct, rt, LiteLLM), line styles the paths (solid =
passthrough, dashed = Gemini translation); the floor relay (passthrough only,
when measured) is grey and dotted. Drawn with matplotlib's Agg backend,
so it needs no display.

``python bench/plot.py RESULTS.json OUT.png``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TARGETS = ("direct", "floor", "rt", "litellm")
COLOURS = {"direct": "#444444", "floor": "#999999", "rt": "#1f77b4", "litellm": "#ff7f0e"}
NAMES = {"direct": "direct (no gateway)", "floor": "floor (picows relay)", "rt": "rt", "litellm": "LiteLLM"}
STYLES = {"openai": ("-", "o", "passthrough"), "gemini": ("--", "s", "→ Gemini")}
# Targets with one path only, drawn in a style of their own and named without the path.
SINGLE_PATH_STYLES = {"direct": ("-", "o"), "floor": (":", "^")}


def _series(results: dict[str, Any], target: str, path: str, metric: str) -> tuple[list[int], list[float]]:
    points: list[tuple[int, float]] = []
    for run in results.get("runs", []):
        if run["target"] != target or run["path"] != path:
            continue
        if metric == "cpu":
            value = run.get("gateway", {}).get("cpu_pct")
        else:
            value = run["load"]["rtt_ms"].get(metric)
        if value is not None:
            points.append((run["sessions"], float(value)))
    points.sort()
    return [p[0] for p in points], [p[1] for p in points]


def plot_results(results: dict[str, Any], out: Path) -> Path:
    """Draw the three panels and save them as a PNG at ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    panels = (("p50", "round trip p50 (ms, log)"), ("p99", "round trip p99 (ms, log)"),
              ("cpu", "gateway CPU (% of one core)"))
    for ax, (metric, title) in zip(axes, panels):
        for target in TARGETS:
            for path, (style, marker, path_name) in STYLES.items():
                single = SINGLE_PATH_STYLES.get(target)
                if (single and path != "openai") or (target == "direct" and metric == "cpu"):
                    continue
                xs, ys = _series(results, target, path, metric)
                if not xs:
                    continue
                label = NAMES[target] if single else f"{NAMES[target]} {path_name}"
                if single:
                    style, marker = single
                ax.plot(xs, ys, linestyle=style, marker=marker, color=COLOURS[target], label=label)
        ax.set_title(title)
        ax.set_xlabel("concurrent sessions")
        if metric != "cpu":
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        else:
            ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    machine = results.get("machine", {})
    fig.suptitle(
        f"20 ms pcm16 24 kHz chunks at real-time pace, echoed by a fake upstream — "
        f"{machine.get('cores', '?')} cores {machine.get('cpu_model', '')}, "
        f"{results.get('options', {}).get('duration_s', '?')} s per run",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        sys.stderr.write("usage: python bench/plot.py RESULTS.json OUT.png\n")
        return 2
    plot_results(json.loads(Path(args[0]).read_text()), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
