"""Fixtures for the benchmark smoke tests: the echo fakes in their own process.

The instruments are run at toy scale (a couple of sessions for a second) to
check that they work and report what they should; no timing is ever asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("picows", reason="the benchmark instruments run on picows")

from bench import gateways  # noqa: E402


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(port, pid) of a running bench/fakes.py process, stopped after the module."""
    logs: Path = tmp_path_factory.mktemp("fakes")
    child, port = gateways.start_fakes(logs, max_lifetime_s=120)
    try:
        yield port, child.pid
    finally:
        child.stop()
