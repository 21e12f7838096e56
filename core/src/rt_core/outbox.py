"""Ordered sends to one side of a session that the caller never waits for.

The relay handles a frame start to finish without awaiting (so it can run
inside a socket's receive callback, see :mod:`rt_core.wsdirect`).  Whatever
that frame produces for a side goes through its :class:`Outbox`:

* when the side can write at once (``send_now`` returns True) and nothing is
  queued, the message is written there and then -- the common case, no task;
* otherwise it is queued and one writer task awaits the side's ``send`` in
  order (a Gemini reconnect, a Bedrock stream, the pure-Python websockets
  library), so nothing accepted is dropped and order is kept.

:meth:`Outbox.drained` is what a reading loop awaits after each frame: a
full queue, or a socket whose write buffer is over its high water mark,
slows the reader down instead of growing memory.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

__all__ = ["Outbox"]

log = logging.getLogger(__name__)


class _NeverPaused:
    write_paused = False


class Outbox:
    """Sends to one side, in order, without making the caller wait.

    :param channel: the side: ``async send(item)``, and optionally a sync
        ``send_now(item) -> bool`` (False: not possible now, use ``send``),
        ``async writable()`` (returns once the write buffer has room) and
        ``write_paused`` (True while it is over its mark) -- on the channel
        itself, or on its ``direct`` connection (:mod:`rt_core.wsdirect`),
        which is then asked directly (fewer calls per frame).
    :param on_error: called with the exception a queued ``send`` raised.
    :param high: queued items at which the side counts as congested ...
    :param low: ... until no more than this many are left.
    """

    def __init__(self, channel: Any, on_error: Callable[[BaseException], None], *, high: int = 64, low: int = 16) -> None:
        self._send: Callable[[Any], Awaitable[None]] = channel.send
        direct = getattr(channel, "direct", None)
        fast = channel if direct is None else direct
        self._send_now: Callable[[Any], bool] | None = getattr(fast, "send_now", None)
        self._writable: Callable[[], Awaitable[None]] | None = getattr(fast, "writable", None)
        #: What has ``write_paused`` (the channel or its connection), and the sends
        #: waiting for the writer task: read-only outside this class, for a reader
        #: that checks congestion inline on every frame (the relay's callbacks).
        self.pressure: Any = fast if hasattr(fast, "write_paused") else _NeverPaused
        self._on_error = on_error
        self.queue: deque[Any] = deque()
        self._spawn: Callable[..., Any] | None = None
        self._writing = False
        self._space: anyio.Event | None = None
        self.high, self.low = high, low

    def congested(self) -> bool:
        """True when a reader feeding this side should stop until :meth:`drained`."""
        return len(self.queue) > self.high or bool(self.pressure.write_paused)

    def start(self, spawn: Callable[..., Any]) -> None:
        """Where writer tasks run (the session's task group); queued items start moving."""
        self._spawn = spawn
        if self.queue and not self._writing:
            self._writing = True
            spawn(self._writer)

    def stop(self) -> None:
        """No more writer tasks (the session is ending; :meth:`flush` sends the rest)."""
        self._spawn = None

    @property
    def send_now(self) -> Callable[[Any], bool] | None:
        """The side's immediate write (False: not possible now), if it has one.

        For a caller that inlines :meth:`put` on a per-frame path::

            if queue or not send_now(item):  # queue = outbox.queue
                outbox.enqueue(item)
        """
        return self._send_now

    def put(self, item: Any) -> None:
        """Send ``item`` after everything put before it."""
        if not self.queue:
            send_now = self._send_now
            if send_now is not None and send_now(item):
                return
        self.enqueue(item)

    def enqueue(self, item: Any) -> None:
        """Queue ``item`` for the writer task, without trying to write it now
        (:meth:`put` once the immediate write was tried, or is not possible)."""
        self.queue.append(item)
        if not self._writing and self._spawn is not None:
            self._writing = True
            self._spawn(self._writer)

    async def _writer(self) -> None:
        queue = self.queue
        try:
            while queue:
                item = queue.popleft()
                try:
                    await self._send(item)
                except Exception as exc:
                    self._on_error(exc)
                if self._space is not None and len(queue) <= self.low:
                    self._space.set()
                    self._space = None
        finally:
            self._writing = False

    async def drained(self) -> None:
        """Return once there is room: queue at or below ``low`` after passing ``high``,
        and the side's write buffer below its mark."""
        if len(self.queue) > self.high:
            while len(self.queue) > self.low and self._writing:
                space = self._space = self._space or anyio.Event()
                await space.wait()
        if self._writable is not None:
            await self._writable()

    async def flush(self, timeout: float) -> None:
        """Send what is still queued (writer tasks are gone), within ``timeout`` s."""
        queue = self.queue
        with anyio.move_on_after(timeout):
            while queue:
                item = queue.popleft()
                try:
                    await self._send(item)
                except Exception as exc:
                    log.debug("flushing a session's queued send failed: %r", exc)
                    queue.clear()
        queue.clear()
