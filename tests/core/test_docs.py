"""Keep docs/hooks.md honest: every hookspec has a section headed by its signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from rt_core import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def _hookspecs() -> list[str]:
    return [
        name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "rt_spec") and fn.__module__ == hookspecs.__name__
    ]


def test_hookspecs_are_found():
    names = _hookspecs()
    for required in ("connect_upstream", "translate_inbound", "translate_outbound", "on_log_event"):
        assert required in names


@pytest.mark.parametrize("name", _hookspecs())
def test_hook_is_documented_with_its_signature(name: str):
    text = DOC.read_text()
    fn = getattr(hookspecs, name)
    params = list(inspect.signature(fn).parameters)
    heading = re.search(rf"^## `{name}\(([^)]*)\)[^`]*`", text, re.M)
    assert heading, f"docs/hooks.md has no '## `{name}(...)`' section"
    documented = [p.strip() for p in heading.group(1).split(",") if p.strip()]
    assert documented == params, f"{name}: docs say {documented}, hookspec says {params}"


def test_every_hookspec_has_a_docstring():
    for name in _hookspecs():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name
