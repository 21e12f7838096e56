"""Building redacted log records and handing them to ``on_log_event``.

The session calls :class:`EventLogger` for its start, for each selected event
and for its end.  Records never contain a key, and audio (or any other long
base64 payload) is replaced by its length, so sinks can store them as is.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from .logrecord import LogRecord
from .plugins import PluginHost

__all__ = ["EventLogger", "redact"]

log = logging.getLogger(__name__)

_B64_KEYS = frozenset({"audio", "delta", "data", "image_url"})
_B64 = re.compile(r"^[A-Za-z0-9+/_-]{256,}={0,2}$")


def redact(value: Any, key: str | None = None) -> Any:
    """Replace audio and other base64 payloads by ``"<N bytes base64>"``."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and len(value) >= 256:
        if value.startswith("data:") and ";base64," in value[:100]:
            return f"<{len(value)} chars data URL>"
        if (key in _B64_KEYS or len(value) >= 1024) and _B64.match(value):
            return f"<{len(value)} chars base64>"
    return value


class EventLogger:
    """Selects events by type and emits redacted records through the hook."""

    def __init__(self, host: PluginHost, types: Iterable[str] | str) -> None:
        self.hook = host.hook.on_log_event
        self.all = types == "*" or (not isinstance(types, str) and "*" in types)
        self.types = frozenset([types] if isinstance(types, str) else types)
        self.enabled = bool(self.hook.get_hookimpls())
        self.errors = 0

    def wants(self, event_type: str) -> bool:
        return self.enabled and (self.all or event_type in self.types)

    def emit(self, record: LogRecord) -> None:
        if not self.enabled:
            return
        try:
            self.hook(record=record)
        except Exception:
            self.errors += 1
            log.warning("an on_log_event hook raised; the record was dropped", exc_info=True)

    def record(self, kind: str, session: Any, *, direction: str | None = None, event_type: str | None = None,
               payload: dict[str, Any] | None = None) -> None:
        if not self.enabled:
            return
        dep = session.deployment
        self.emit(LogRecord(
            kind=kind,
            session_id=session.id,
            timestamp=time.time(),
            model_group=session.model,
            deployment=dep.label if dep is not None else None,
            client=session.client.name,
            direction=direction,
            event_type=event_type,
            payload=redact(payload or {}),
        ))
