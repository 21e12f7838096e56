"""A bounded queue drained by one background thread: how sinks stay off the session's path.

The session's task only calls :meth:`BackgroundWriter.put`, which never
blocks: when the queue is full the item is dropped, counted, and a warning is
logged (at most every :data:`WARN_EVERY_S` seconds).  The thread takes what
is queued -- up to ``batch_size`` items at once, so a busy gateway writes in
batches and an idle one writes at once -- and hands it to ``write_batch``.
An exception there is counted and logged, never propagated: a failing sink
loses its own records and nothing else.

Threads, not asyncio tasks, because sink writes (files, SQLite) are blocking
calls that must never run on the event loop.  The thread starts with the
first item and is a daemon; :func:`close_all` (registered with ``atexit``)
drains every writer at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["BackgroundWriter", "close_all"]

log = logging.getLogger(__name__)

WARN_EVERY_S = 10.0
_STOP = object()
_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


class BackgroundWriter:
    """Runs ``write_batch(items)`` on a thread for items :meth:`put` from anywhere.

    :param name: for log messages (``"sqlite sink"``).
    :param write_batch: called on the writer thread with a non-empty list.
    :param maxsize: items held before new ones are dropped.
    :param on_stop: called on the writer thread when it stops (close files).
    """

    def __init__(self, name: str, write_batch: Callable[[list[Any]], None], *, maxsize: int = 10_000,
                 batch_size: int = 500, on_stop: Callable[[], None] | None = None) -> None:
        self.name = name
        self.write_batch = write_batch
        self.batch_size = batch_size
        self.on_stop = on_stop
        self.queued = 0
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self._q: queue.Queue[Any] = queue.Queue(maxsize)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._last_drop_warning = 0.0
        self._drops_since_warning = 0
        self._last_error_warning = 0.0
        _writers.add(self)

    # ------------------------------------------------------------------ any thread

    def put(self, item: Any) -> bool:
        """Queue ``item``; never blocks.  False when it was dropped."""
        if self._thread is None and not self._closed:
            self._start()
        if not self._closed:
            try:
                self._q.put_nowait(item)
                self.queued += 1
                return True
            except queue.Full:
                pass
        self.dropped += 1
        self._drops_since_warning += 1
        now = time.monotonic()
        if now - self._last_drop_warning >= WARN_EVERY_S:
            log.warning("%s: queue full or closed, dropped %d record(s) (%d in total); "
                        "the sink is slower than the gateway", self.name, self._drops_since_warning, self.dropped)
            self._last_drop_warning = now
            self._drops_since_warning = 0
        return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was handed to ``write_batch``."""
        deadline = time.monotonic() + timeout
        with self._q.all_tasks_done:
            while self._q.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._q.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Drain, stop the thread and run ``on_stop``; True when it finished in time."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        try:
            self._q.put(_STOP, timeout=max(0.0, timeout))
        except queue.Full:
            log.warning("%s: could not stop within %.1f s (the sink is blocked)", self.name, timeout)
            return False
        thread.join(max(0.0, deadline - time.monotonic()))
        return not thread.is_alive()

    def stats(self) -> dict[str, int]:
        return {"queued": self.queued, "written": self.written, "dropped": self.dropped, "errors": self.errors,
                "pending": self._q.qsize()}

    # ------------------------------------------------------------------ writer thread

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=f"rt-{self.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        q = self._q
        stopping = False
        try:
            while not stopping:
                batch = [q.get()]
                while len(batch) < self.batch_size:
                    try:
                        batch.append(q.get_nowait())
                    except queue.Empty:
                        break
                items = [b for b in batch if b is not _STOP]
                stopping = len(items) != len(batch)
                try:
                    if items:
                        self.write_batch(items)
                        self.written += len(items)
                except Exception as exc:
                    self.errors += 1
                    now = time.monotonic()
                    if now - self._last_error_warning >= WARN_EVERY_S:
                        self._last_error_warning = now
                        log.warning("%s: writing %d record(s) failed (%d failure(s) so far): %r",
                                    self.name, len(items), self.errors, exc)
                finally:
                    for _ in batch:
                        q.task_done()
        finally:
            if self.on_stop is not None:
                try:
                    self.on_stop()
                except Exception:
                    log.warning("%s: closing failed", self.name, exc_info=True)


def close_all(timeout: float = 2.0) -> None:
    """Drain and stop every writer (at interpreter exit)."""
    for w in list(_writers):
        w.close(timeout)


atexit.register(close_all)
