"""Several rounds of the same benchmark, reduced to one record per run.

On a shared 2-core machine one run's CPU and p99 move by a third from one
minute to the next (docs/performance.md), and a single pass runs the targets
one after the other, so a noisy minute can land on one target only.  With
``bench/run.py --rounds N`` the whole sequence (direct, floor, rt, LiteLLM) is
run N times and each (target, path, sessions) is reported by its median
round, while every round's numbers stay in ``results.json`` and the report.

What the median is taken of, and what it is not:

* every number (latencies, CPU, RSS, lag) -> the median over the rounds;
* losses and failures (chunks lost, connect failures, corrupt chunks, ...) ->
  the worst round, so "no chunk lost" means no chunk lost in any round;
* yes/no facts (all chunks reached the fake, gateway alive) -> true only if
  true in every round;
* anything else (labels, URLs, lists) -> the first round's.
"""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["WORST_OF", "merge", "merge_runs"]

#: Counts where one bad round must show: the worst round is reported.
WORST_OF = frozenset({
    "chunks_lost", "connect_failures", "chunks_unmatched", "chunks_corrupt", "error_events",
    "disconnects_while_streaming", "chunks_held_at_end",
})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def merge(values: list[Any], key: str = "") -> Any:
    """One value standing for ``values`` (the same field in each round), by the rules above."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, dict) for v in present):
        keys: list[str] = []
        for v in present:
            keys += [k for k in v if k not in keys]
        return {k: merge([v.get(k) for v in present], k) for k in keys}
    if all(isinstance(v, bool) for v in present):
        return all(present)
    if all(_is_number(v) for v in present):
        if key in WORST_OF:
            return max(present)
        middle = statistics.median(present)
        return round(middle, 4) if isinstance(middle, float) else middle
    return present[0]


def merge_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (target, path, sessions), in first-seen order, from every round's records.

    Each merged record says how many rounds it stands for (``rounds``) and
    the spread of the numbers that decide the bar (``spread``: min and max
    over the rounds of the gateway's CPU and the p99).
    """
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["target"], run["path"], run["sessions"]), []).append(run)
    merged = []
    for group in groups.values():
        record = merge(group)
        record.pop("round", None)
        record["rounds"] = len(group)
        cpus = [r["gateway"]["cpu_pct"] for r in group if r.get("gateway") and r["gateway"].get("cpu_pct") is not None]
        p99s = [r["load"]["rtt_ms"]["p99"] for r in group if r["load"]["rtt_ms"].get("p99") is not None]
        record["spread"] = {
            "gateway_cpu_pct": [min(cpus), max(cpus)] if cpus else None,
            "p99_ms": [min(p99s), max(p99s)] if p99s else None,
        }
        merged.append(record)
    return merged
