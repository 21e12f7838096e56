"""Suite-wide fixtures: anyio on asyncio, and offline plugin discovery.

Tests run offline against loopback fakes.  Plugins are discovered from the
installed entry points (the packages are installed by scripts/test), exactly
as a user's gateway finds them.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
