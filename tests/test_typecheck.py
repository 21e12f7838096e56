"""Every distribution's source type-checks under ``mypy --strict`` (config in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_sources_type_check_strictly():
    pytest.importorskip("mypy", reason="mypy is in the test dependency group")
    packages = [str(p.parent) for p in sorted(ROOT.glob("plugins/*/src/rt_*/__init__.py"))] + [str(ROOT / "core/src/rt_core")]
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *packages],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
