"""No class of rt's keeps more instance attributes in a ``__dict__`` than CPython
shares keys for.

CPython 3.12 stores an instance's attributes inline, found by a cached index,
while its class's shared keys hold at most 30 names.  Past that each instance
gets a dict of its own: every ``self.x`` becomes a dict lookup and every
session carries its own keys table.  rt-gemini's translator state had 41
attributes; giving it ``__slots__`` took 10-20 % of the user-space cycles off
a Gemini round trip at 200 sessions (docs/performance.md).  This test keeps
the next attribute from silently crossing the line: a class that assigns more
than :data:`SHARED_KEYS_MAX` distinct ``self.<name>`` attributes must declare
``__slots__``.

The count is static (assignments written in the class's own body), so a class
whose bases also assign attributes is undercounted; the translators, where it
matters, keep all their state in one class.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("core/src/rt_core/**/*.py"), *ROOT.glob("plugins/*/src/*/**/*.py")])
#: CPython's SHARED_KEYS_MAX_SIZE (Objects/dictobject.c, 3.11-3.13).
SHARED_KEYS_MAX = 30


def instance_attributes(cls: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(cls):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    names.add(t.attr)
    return names


def declares_slots(cls: ast.ClassDef) -> bool:
    for node in cls.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "__slots__" for t in targets):
            return True
    decorators = [ast.unparse(d) for d in cls.decorator_list]
    return any("slots=True" in d for d in decorators)


def classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                found.append((f"{path.relative_to(ROOT)}::{node.name}", node))
    return found


def test_the_sources_are_found():
    names = {name.split("::")[1] for name, _ in classes()}
    assert {"Relay", "TranslatorState", "NovaTranslator", "GeminiUpstream"} <= names


def test_classes_with_many_attributes_declare_slots():
    crowded = {name: len(instance_attributes(cls)) for name, cls in classes()
               if not declares_slots(cls) and len(instance_attributes(cls)) > SHARED_KEYS_MAX}
    assert crowded == {}, f"declare __slots__ (more than {SHARED_KEYS_MAX} instance attributes): {crowded}"


@pytest.mark.parametrize("module, name", [
    ("rt_gemini.translator", "GeminiTranslator"), ("rt_bedrock.translator", "NovaTranslator")])
def test_the_large_translators_have_no_instance_dict(module, name):
    """The runtime view of the same property, through every class they inherit from."""
    cls = getattr(importlib.import_module(module), name)
    assert [k.__name__ for k in cls.__mro__ if "__dict__" in vars(k) and k is not object] == []
