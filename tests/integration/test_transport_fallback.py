"""rt runs on picows when installed and on websockets otherwise (rt_core.wslib).
The suite runs on the default; this test re-runs the core end-to-end files on
the other implementation, in a subprocess (the choice is made at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rt_core import wslib

ROOT = Path(__file__).resolve().parents[2]
OTHER = "websockets" if wslib.IMPL == "picows" else "picows"


def test_end_to_end_suites_pass_on_the_other_websocket_implementation():
    if OTHER == "picows":
        pytest.importorskip("picows.websockets", reason="picows (rt-core[fast]) is not installed")
    files = ["tests/integration/test_openai_passthrough.py", "tests/integration/test_bad_input.py",
             "tests/integration/test_upstream_failures.py", "tests/integration/test_auth_and_handshake.py",
             "tests/integration/test_direct_relay.py"]
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files],
                       cwd=ROOT, env={**os.environ, "RT_WS": OTHER}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout
