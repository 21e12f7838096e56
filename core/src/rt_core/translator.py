"""The shape of a translator: pure, stateful, one per session.

A translator turns client events (GA dialect) into upstream frames and
upstream frames into GA server events.  It never awaits, never reads the clock
itself and never makes random ids: the session's injected ``ids`` and
``clock`` are passed in when it is created.  This keeps every translation
testable with recorded frames (golden sessions).
"""

from __future__ import annotations

from typing import Any, Protocol

from .events import Action, Event, Signal

__all__ = ["Translator"]


class Translator(Protocol):
    """What provider plugins' ``translate_inbound``/``translate_outbound``
    hookimpls dispatch to (by convention; the hooks are the contract)."""

    def inbound(self, event: Event | Signal) -> list[Action]:
        """One client event (or a timer signal) in; actions out."""
        ...

    def outbound(self, frame: Any) -> list[Action]:
        """One upstream frame (or an upstream signal) in; actions out."""
        ...
