"""Keep the mock's user documentation honest about its configuration keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from rt_core import DeploymentSettings
from rt_mock import MockSettings

ROOT = Path(__file__).resolve().parents[2]
OWN_KEYS = sorted(set(MockSettings.model_fields) - set(DeploymentSettings.model_fields))


@pytest.mark.parametrize("key", OWN_KEYS)
def test_every_setting_is_documented(key):
    assert f"| `{key}` |" in (ROOT / "docs" / "providers" / "mock.md").read_text()


def test_readme_walks_through_every_module():
    readme = (ROOT / "plugins" / "mock" / "README.md").read_text()
    src = ROOT / "plugins" / "mock" / "src" / "rt_mock"
    for module in sorted(p.name for p in src.glob("*.py") if p.name != "__init__.py"):
        assert module in readme, f"README.md does not mention {module}"
