"""The JSON-lines sink: one record per line, on stdout or appended to a file.

Each line is :meth:`rt_core.LogRecord.to_dict` as compact JSON: ``kind``
(``session.start``, ``event``, ``session.end``), ``session_id``,
``timestamp`` (Unix seconds), ``model_group``, ``deployment``, ``client``,
``direction``, ``event_type``, ``payload``.  Easy to ship with any log
collector (``rt-core serve ... | vector``) or to read with ``jq``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from ..hookspecs import hookimpl
from ..logrecord import LogRecord
from .background import BackgroundWriter

__all__ = ["JsonlSink"]

_STDOUT = ("stdout", "-")


class JsonlSink:
    """Writes records as JSON lines.  ``target``: ``"stdout"`` (or ``"-"``) or a file path."""

    def __init__(self, target: str | Path = "stdout", *, maxsize: int = 10_000) -> None:
        self.target = str(target)
        self._file: IO[str] | None = None
        self.writer = BackgroundWriter("jsonl sink", self._write, maxsize=maxsize, on_stop=self._close_file)

    @hookimpl
    def on_log_event(self, record: LogRecord) -> None:
        self.writer.put(record)

    def _write(self, records: list[LogRecord]) -> None:
        text = "".join(json.dumps(r.to_dict(), ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
                       for r in records)
        if self.target in _STDOUT:
            out: Any = sys.stdout
        else:
            if self._file is None:
                path = Path(self.target).expanduser()
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("a", encoding="utf-8")
            out = self._file
        out.write(text)
        out.flush()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def flush(self, timeout: float = 5.0) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        return self.writer.close(timeout)
