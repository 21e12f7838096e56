"""The SQLite sink: the embedded session store (see :mod:`rt_core.store`).

The connection is opened by the writer thread on its first batch and used
only there (sqlite3 connections belong to one thread); each batch is one
transaction.  ``rt-core sessions`` reads the same file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..hookspecs import hookimpl
from ..logrecord import LogRecord
from ..store import default_db_path, open_store, write_records
from .background import BackgroundWriter

__all__ = ["SqliteSink"]


class SqliteSink:
    """Stores sessions and events in SQLite.  ``path`` None: :func:`~rt_core.store.default_db_path`."""

    def __init__(self, path: str | Path | None = None, *, maxsize: int = 10_000) -> None:
        self.path = Path(path).expanduser() if path else default_db_path()
        self._db: sqlite3.Connection | None = None
        self.writer = BackgroundWriter("sqlite sink", self._write, maxsize=maxsize, on_stop=self._close_db)

    @hookimpl
    def on_log_event(self, record: LogRecord) -> None:
        self.writer.put(record)

    def _write(self, records: list[LogRecord]) -> None:
        if self._db is None:
            self._db = open_store(self.path)
        write_records(self._db, records)

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def flush(self, timeout: float = 5.0) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        return self.writer.close(timeout)
