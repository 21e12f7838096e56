"""Process CPU and memory read straight from /proc, and a description of the machine.

Why /proc and not psutil: it costs nothing to install, it is exact enough (CPU in
clock ticks, RSS in KiB) and it is what the issue asks for. Linux only, which is
where the benchmark runs.

CPU is reported as "percent of one core" (100 % = one core fully busy), the unit
the issue's tables use.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of one process (all its threads), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may contain spaces.
    fields = raw[raw.rindex(")") + 2 :].split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) -> indexes 11, 12 here.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size (VmRSS) of one process in KiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                text = (task / "children").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.extend(int(p) for p in text.split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (a gateway may fork workers)."""
    tree = [pid]
    index = 0
    while index < len(tree):
        tree.extend(children(tree[index]))
        index += 1
    return tree


def thread_ids(pid: int | str) -> list[int]:
    """The live threads of one process (``[]`` once it is gone)."""
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def tree_threads(pid: int) -> list[int]:
    """Every live thread of a process and of its descendants."""
    return [tid for p in process_tree(pid) for tid in thread_ids(p)]


def context_switches(pid: int | str = "self") -> tuple[int, int]:
    """Voluntary and involuntary context switches of every live thread of one process.

    A voluntary switch is a thread waiting (for a socket, a lock, a timer); an
    involuntary one is the kernel taking the core from a thread that could have
    gone on running because another task was preferred.  On a machine the
    gateway shares with the load generator and the fake, involuntary switches
    count how often the gateway was preempted in the middle of its work, and
    every frame it still held waited for that.  ``(0, 0)`` once it is gone.
    """
    voluntary = involuntary = 0
    for tid in thread_ids(pid):
        try:
            text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary += int(line.split()[1])
    return voluntary, involuntary


def tree_context_switches(pid: int) -> tuple[int, int]:
    """:func:`context_switches` summed over a process and its descendants."""
    voluntary = involuntary = 0
    for p in process_tree(pid):
        v, i = context_switches(p)
        voluntary += v
        involuntary += i
    return voluntary, involuntary


def switches_per_second(before: tuple[int, int], after: tuple[int, int], seconds: float) -> list[float]:
    """``[voluntary, involuntary]`` per second between two readings."""
    if seconds <= 0:
        return [0.0, 0.0]
    return [round((after[0] - before[0]) / seconds, 1), round((after[1] - before[1]) / seconds, 1)]


@dataclass
class TreeSample:
    """One reading of a process tree: monotonic time, CPU seconds, RSS."""

    t: float
    cpu_s: float
    rss_kib: int
    pids: list[int] = field(default_factory=list)


def sample_tree(pid: int) -> TreeSample:
    """Read CPU and RSS of a process and its descendants at one instant.

    A process that exits between listing and reading is skipped (its CPU then
    vanishes from the sum, which only matters for short-lived helpers).
    """
    t = time.monotonic()
    cpu = 0.0
    rss = 0
    pids = process_tree(pid)
    for p in pids:
        try:
            cpu += cpu_seconds(p)
        except (FileNotFoundError, ProcessLookupError):
            continue
        rss += rss_kib(p)
    return TreeSample(t=t, cpu_s=cpu, rss_kib=rss, pids=pids)


def cpu_percent(before: TreeSample, after: TreeSample) -> float:
    """Average CPU between two samples in percent of one core."""
    wall = after.t - before.t
    if wall <= 0:
        return 0.0
    return 100.0 * (after.cpu_s - before.cpu_s) / wall


def system_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (from /proc/stat), for spotting
    other load on a shared machine: busy minus what the benchmark's own processes used."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


def machine_info() -> dict[str, object]:
    """What the reader needs to judge the numbers: CPU model, cores, kernel, Python."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total_kib = int(line.split()[1])
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "mem_total_gib": round(mem_total_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }
