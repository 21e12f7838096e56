"""Log records handed to ``on_log_event`` sinks.

Records are built by the core, already redacted: no API key ever appears, and
audio (and any other base64 payload) is replaced by its length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LogRecord"]


@dataclass(slots=True)
class LogRecord:
    """One record: ``kind`` is ``session.start``, ``event`` or ``session.end``.

    :ivar direction: ``client->upstream`` or ``upstream->client`` (events only).
    :ivar deployment: deployment label (provider/model and id), never its key.
    :ivar client: key alias or key fingerprint, never the key.
    :ivar payload: the redacted event (events) or the summary (start/end).
    """

    kind: str
    session_id: str
    timestamp: float
    model_group: str | None = None
    deployment: str | None = None
    client: str | None = None
    direction: str | None = None
    event_type: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
