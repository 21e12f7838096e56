"""Built-in plugin: hand each session's events to its translator.

Every provider's ``translate_inbound``/``translate_outbound`` would otherwise
be the same two lines (``session.translator.inbound(event)``), so the core
registers them once, ``trylast``: a provider plugin only implements
``rt_providers``, ``create_translator`` and ``connect_upstream``.  A plugin
that does implement the translate hooks still runs first and wins
(``firstresult``), so wrappers and special cases keep working.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl

NAME = "rt-dispatch"


@hookimpl(trylast=True)
def translate_inbound(session: Any, event: Any) -> Any:
    translator = session.translator
    return None if translator is None else translator.inbound(event)


@hookimpl(trylast=True)
def translate_outbound(session: Any, frame: Any) -> Any:
    translator = session.translator
    return None if translator is None else translator.outbound(frame)
