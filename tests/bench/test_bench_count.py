"""bench/count_gateway.py: perf stat's CSV read right, missing counters never shown as zero."""

from __future__ import annotations

import pytest

from bench.count_gateway import main, parse_perf_csv, per_round_trip, render

# What `perf stat -x, -e ... -p PID -o FILE` writes (perf 6.x), one counter unsupported.
PERF_CSV = """# started on Sun Nov 22 03:54:57 2026

3844.91,msec,task-clock,3844911234,100.00,0.320,CPUs utilized
6917558474,,instructions:u,3844911234,100.00,1.09,insn per cycle
3090473708,,instructions:k,3844911234,100.00,0.77,insn per cycle
6353817072,,cycles:u,3844911234,100.00,1.653,GHz
<not supported>,,cycles:k,0,100.00,,
52179,,context-switches,3844911234,100.00,13.571,K/sec
"""


def test_perf_csv_is_parsed_per_event() -> None:
    counters = parse_perf_csv(PERF_CSV)
    assert counters == {
        "task-clock": 3844.91, "instructions:u": 6917558474.0, "instructions:k": 3090473708.0,
        "cycles:u": 6353817072.0, "cycles:k": None, "context-switches": 52179.0,
    }


def test_counts_are_divided_by_the_chunks_and_missing_ones_stay_missing() -> None:
    per = per_round_trip(parse_perf_csv(PERF_CSV), 100_000)
    assert per["instructions:u"] == pytest.approx(69175.58)
    assert per["task-clock µs"] == pytest.approx(38.4491)  # ms → µs per chunk
    assert per["cycles:k"] is None
    assert per_round_trip({"instructions:u": 5.0}, 0) == {"instructions:u": None}


def test_render_gives_every_run_and_a_median_per_target() -> None:
    def run(target: str, ins: float) -> dict:
        return {"target": target, "chunks": 1000, "lost": 0,
                "per_round_trip": {"instructions:u": ins, "cycles:k": None}}

    text = render([run("floor", 21000), run("rt", 70000), run("floor", 23000), run("rt", 72000)])
    assert "| **floor** | median | | | 22,000 |" in text
    assert "| **rt** | median | | | 71,000 |" in text
    rows = [line for line in text.splitlines() if line.startswith("| rt |") or line.startswith("| floor |")]
    assert len(rows) == 4
    assert all("—" in row for row in rows)  # cycles:k was not counted: a dash, not 0


@pytest.mark.parametrize("argv", [
    ["--targets", "nginx"],
    ["--targets", "floor", "--path", "gemini"],
    ["--sessions", "5000"],
    ["--repeat", "0"],
])
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
