"""rt_core.outbox.Outbox: ordered sends that never make the caller wait.

The relay's per-frame shortcuts inline :meth:`Outbox.put` as
``if queue or not send_now(item): enqueue(item)``; these tests hold the two
spellings to the same outcome, with a channel that writes at once or not.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from rt_core.outbox import Outbox

pytestmark = pytest.mark.anyio


class Side:
    """One side of a session: an immediate write that works only while ``open_now``."""

    def __init__(self, *, immediate: bool = True) -> None:
        self.open_now = True
        self.now: list[Any] = []
        self.later: list[Any] = []
        if not immediate:
            self.send_now = None  # type: ignore[assignment]

    def send_now(self, item: Any) -> bool:
        if not self.open_now:
            return False
        self.now.append(item)
        return True

    async def send(self, item: Any) -> None:
        await anyio.sleep(0)
        self.later.append(item)


def inline_put(box: Outbox, item: Any) -> None:
    """The relay's spelling of ``box.put(item)``."""
    send_now = box.send_now
    if box.queue or send_now is None or not send_now(item):
        box.enqueue(item)


@pytest.mark.parametrize("put", [Outbox.put, inline_put], ids=["put", "inline"])
async def test_writes_at_once_then_queues_in_order(put) -> None:
    side = Side()
    box = Outbox(side, on_error=lambda exc: None)
    assert box.send_now == side.send_now
    async with anyio.create_task_group() as tg:
        box.start(tg.start_soon)
        put(box, 1)
        side.open_now = False
        put(box, 2)  # cannot be written now: queued
        side.open_now = True
        put(box, 3)  # something is queued: behind it, though the side could write now
        assert list(box.queue) == [2, 3]
    assert side.now == [1]
    assert side.later == [2, 3]
    assert not box.queue


async def test_enqueue_never_writes_at_once() -> None:
    side = Side()
    box = Outbox(side, on_error=lambda exc: None)
    box.enqueue("a")  # no writer yet: kept until start
    assert side.now == [] and list(box.queue) == ["a"]
    async with anyio.create_task_group() as tg:
        box.start(tg.start_soon)
    assert side.later == ["a"]


async def test_a_side_without_an_immediate_write_always_queues() -> None:
    side = Side(immediate=False)
    box = Outbox(side, on_error=lambda exc: None)
    assert box.send_now is None
    async with anyio.create_task_group() as tg:
        box.start(tg.start_soon)
        box.put("x")
        inline_put(box, "y")
    assert side.later == ["x", "y"]
