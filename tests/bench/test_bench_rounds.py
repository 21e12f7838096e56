"""``bench/run.py --rounds N``: each run reported by its median round, losses by the worst."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import render_markdown
from bench.rounds import merge, merge_runs
from tests.bench.test_bench_run import run_bench


def a_run(round_no: int, cpu: float, p99: float, lost: int, reached: bool = True) -> dict[str, Any]:
    return {
        "target": "rt", "path": "openai", "sessions": 200, "round": round_no,
        "load": {"label": "rt-openai-200", "chunks_lost": lost, "connect_failures": 0,
                 "rtt_ms": {"p50": p99 / 3, "p99": p99}, "connect_errors": ["x"] if lost else []},
        "fake": {"all_chunks_reached_fake": reached},
        "gateway": {"cpu_pct": cpu, "alive": True},
    }


def test_numbers_take_the_median_losses_the_worst_round_and_facts_every_round() -> None:
    [merged] = merge_runs([a_run(1, 20.0, 1.2, 0), a_run(2, 14.0, 0.8, 3, reached=False), a_run(3, 15.0, 0.9, 0)])
    assert merged["gateway"]["cpu_pct"] == 15.0
    assert merged["load"]["rtt_ms"]["p99"] == 0.9
    assert merged["load"]["chunks_lost"] == 3  # one round lost chunks: it shows
    assert merged["fake"]["all_chunks_reached_fake"] is False
    assert merged["gateway"]["alive"] is True
    assert merged["load"]["label"] == "rt-openai-200"
    assert merged["rounds"] == 3 and "round" not in merged
    assert merged["spread"] == {"gateway_cpu_pct": [14.0, 20.0], "p99_ms": [0.8, 1.2]}


def test_runs_are_grouped_by_target_path_and_sessions_in_first_seen_order() -> None:
    runs = [a_run(1, 10.0, 1.0, 0), {**a_run(1, 30.0, 2.0, 0), "sessions": 500},
            a_run(2, 12.0, 1.1, 0), {**a_run(2, 32.0, 2.2, 0), "sessions": 500}]
    merged = merge_runs(runs)
    assert [(m["sessions"], m["gateway"]["cpu_pct"]) for m in merged] == [(200, 11.0), (500, 31.0)]


def test_missing_values_are_left_out_of_the_median() -> None:
    assert merge([None, 2.0, 4.0]) == 3.0
    assert merge([None, None]) is None
    assert merge([{"a": 1}, {"a": 3, "b": 5}]) == {"a": 2, "b": 5}


def test_two_rounds_end_to_end_keep_every_round_and_report_the_spread(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--targets", "direct", "--rounds", "2", "--no-plot", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["options"]["rounds"] == 2
    assert [r["round"] for r in results["runs_each_round"]] == [1, 2]
    [run] = results["runs"]
    assert run["rounds"] == 2
    p99s = sorted(r["load"]["rtt_ms"]["p99"] for r in results["runs_each_round"])
    assert run["spread"]["p99_ms"] == p99s
    assert run["load"]["rtt_ms"]["p99"] == round((p99s[0] + p99s[1]) / 2, 4)
    report = render_markdown(results)
    assert "### Rounds" in report and "direct (round 1)" in report and "direct (round 2)" in report


def test_rounds_out_of_bounds_are_refused(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--targets", "direct", "--rounds", "0")
    assert done.returncode == 2 and "--rounds" in done.stderr
