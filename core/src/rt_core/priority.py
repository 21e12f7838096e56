"""Real-time scheduling for the event loop thread (opt-in: ``rt_realtime_priority``).

Why: on a host rt shares with other busy processes, a frame that arrives
while another task holds the core waits for that task's turn.  Measured on
a two-core machine shared with the load generator and the fake upstream,
rt was preempted 1 100-4 700 times a second, and that waiting is most of
what it added to the round trip's p99; unpreempted, its p99 at 200 sessions
went from 2.2-3.2x to 1.6-1.9x direct on passthrough (docs/performance.md).
A ``SCHED_FIFO`` thread is never preempted by ordinary tasks and gets a core
as soon as it wakes.  Voice servers offer the same switch (Asterisk ``-p``,
FreeSWITCH ``-rp``).

Only the event loop thread: threads started afterwards (the log sinks'
writers, the loop's resolver pool) begin as ordinary threads
(``SCHED_RESET_ON_FORK``), so a slow disk write never runs at real-time
priority.  The kernel's real-time throttling (``kernel.sched_rt_runtime_us``,
95 % of each second by default) still leaves ordinary tasks a share of every
core, should the loop ever spin.
"""

from __future__ import annotations

import os

__all__ = ["enter_fifo"]


def enter_fifo(priority: int) -> None:
    """Run the calling thread in ``SCHED_FIFO`` at ``priority`` (1-99).

    :raises OSError: with a message saying what is needed, when the platform
        has no real-time scheduling or the process may not use it.
    """
    setter = getattr(os, "sched_setscheduler", None)
    if setter is None:
        raise OSError("real-time scheduling (SCHED_FIFO) is not available on this platform")
    try:
        # Linux has SCHED_RESET_ON_FORK; where it does not, later threads inherit the policy.
        setter(0, os.SCHED_FIFO | getattr(os, "SCHED_RESET_ON_FORK", 0), os.sched_param(priority))
    except PermissionError:
        raise OSError(
            f"SCHED_FIFO priority {priority} is not allowed for this process: it needs root, "
            f"CAP_SYS_NICE, or a real-time priority limit of at least {priority} (ulimit -r)"
        ) from None
