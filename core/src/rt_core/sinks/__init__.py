"""Built-in ``on_log_event`` sinks, registered as plugins like any other.

* :class:`~.jsonl.JsonlSink` -- one JSON object per line, on stdout or in a file.
* :class:`~.sqlite.SqliteSink` -- the embedded store (``sessions`` and
  ``events`` tables) that ``rt-core sessions`` reads.

Both only enqueue on the session's task; a :class:`~.background.BackgroundWriter`
thread writes in batches from a bounded queue, dropping (and counting) what
does not fit, so a slow or failing sink never slows or breaks a session.
:func:`builtin_sinks` builds the ones a config asks for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .background import BackgroundWriter
from .jsonl import JsonlSink
from .sqlite import SqliteSink

if TYPE_CHECKING:
    from ..config import GatewaySettings

__all__ = ["BackgroundWriter", "JsonlSink", "SqliteSink", "builtin_sinks"]


def builtin_sinks(settings: GatewaySettings) -> dict[str, Any]:
    """Plugin name → sink object, for the sinks ``settings`` enables."""
    out: dict[str, Any] = {}
    if settings.rt_log_jsonl:
        out["rt-log-jsonl"] = JsonlSink(settings.rt_log_jsonl, maxsize=settings.rt_log_queue_size)
    if settings.rt_log_sqlite:
        path = None if settings.rt_log_sqlite == "default" else settings.rt_log_sqlite
        out["rt-log-sqlite"] = SqliteSink(path, maxsize=settings.rt_log_queue_size)
    return out
