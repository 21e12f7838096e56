"""The mock's upstream: an in-process connection that never carries a frame.

The core treats every provider alike: it opens an :class:`~rt_core.Upstream`
under a timeout, pumps ``receive()`` into ``translate_outbound`` and sends the
translator's :class:`~rt_core.ToUpstream` frames.  The mock's translator
answers clients itself, so its upstream only has to behave like a healthy,
silent connection: ``open()`` succeeds at once, ``receive()`` waits until the
session closes it, and ``send()`` (never called by the mock translator)
accepts anything.
"""

from __future__ import annotations

from typing import Any

import anyio

from rt_core import UpstreamClosed

__all__ = ["MockUpstream"]


class MockUpstream:
    """An always-open, always-silent :class:`~rt_core.Upstream`."""

    def __init__(self) -> None:
        self._closed: anyio.Event | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.sent: int = 0  # frames received through send(): the mock expects none

    async def open(self) -> None:
        # anyio events belong to a running event loop: create it here, not in __init__.
        self._closed = anyio.Event()

    async def send(self, frame: Any) -> None:
        if self._closed is None or self._closed.is_set():
            raise UpstreamClosed(self.close_code or 1006, self.close_reason or "the mock upstream is not open")
        self.sent += 1

    async def receive(self) -> Any:
        if self._closed is None:
            raise UpstreamClosed(1006, "the mock upstream is not open")
        await self._closed.wait()
        raise UpstreamClosed(self.close_code or 1000, self.close_reason)

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        if self._closed is not None:
            self._closed.set()
