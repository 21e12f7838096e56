"""The embedded SQLite session store: schema, writes and the queries ``rt-core sessions`` runs.

Two tables::

    sessions  one row per session: start (routing decision), end (duration,
              close code and reason, frames and bytes each way, token usage)
    events    one row per logged event: session, time, direction, type, payload

Rows are written by the SQLite sink's background thread in batches (one
transaction per batch), in WAL mode so readers (``rt-core sessions``, other
tools) never block the writer.  A session row is upserted by both its start
and its end record, so it is complete whichever arrives (or is dropped)
first.  Payloads are the already redacted records: no key, no audio.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .logrecord import LogRecord

__all__ = ["default_db_path", "open_store", "write_records", "recent_sessions", "session_events", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id      TEXT PRIMARY KEY,
    started_at      REAL,
    ended_at        REAL,
    duration_s      REAL,
    model_group     TEXT,
    served_by_group TEXT,
    deployment      TEXT,
    client          TEXT,
    dialect         TEXT,
    close_code      INTEGER,
    close_reason    TEXT,
    frames_in       INTEGER,
    bytes_in        INTEGER,
    frames_out      INTEGER,
    bytes_out       INTEGER,
    input_tokens    INTEGER,
    output_tokens   INTEGER,
    total_tokens    INTEGER,
    usage           TEXT,
    routing         TEXT
);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions(started_at);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL,
    ts          REAL NOT NULL,
    direction   TEXT,
    event_type  TEXT,
    payload     TEXT
);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id, id);
"""


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``$RT_DB``, else ``$XDG_STATE_HOME/rt/rt.db`` (``~/.local/state/rt/rt.db``)."""
    env = os.environ if env is None else env
    if env.get("RT_DB"):
        return Path(env["RT_DB"]).expanduser()
    state = env.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
    return Path(state) / "rt" / "rt.db"


def open_store(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and create, when allowed) the store in WAL mode.

    :raises FileNotFoundError: ``create`` is False and there is no store.
    """
    p = Path(path)
    if not create and not p.exists():
        raise FileNotFoundError(str(p))
    if create:
        p.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(p), timeout=5.0, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        if create:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_START = """
INSERT INTO sessions (session_id, started_at, model_group, served_by_group, deployment, client, dialect, routing)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_id) DO UPDATE SET
    started_at = excluded.started_at, model_group = excluded.model_group,
    served_by_group = excluded.served_by_group, deployment = COALESCE(excluded.deployment, sessions.deployment),
    client = excluded.client, dialect = excluded.dialect, routing = excluded.routing
"""

_END = """
INSERT INTO sessions (session_id, started_at, ended_at, duration_s, model_group, deployment, client, close_code,
                      close_reason, frames_in, bytes_in, frames_out, bytes_out, input_tokens, output_tokens,
                      total_tokens, usage)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(session_id) DO UPDATE SET
    started_at = COALESCE(sessions.started_at, excluded.started_at),
    ended_at = excluded.ended_at, duration_s = excluded.duration_s,
    model_group = COALESCE(sessions.model_group, excluded.model_group),
    deployment = COALESCE(excluded.deployment, sessions.deployment),
    client = COALESCE(sessions.client, excluded.client),
    close_code = excluded.close_code, close_reason = excluded.close_reason,
    frames_in = excluded.frames_in, bytes_in = excluded.bytes_in,
    frames_out = excluded.frames_out, bytes_out = excluded.bytes_out,
    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
    total_tokens = excluded.total_tokens, usage = excluded.usage
"""

_EVENT = "INSERT INTO events (session_id, ts, direction, event_type, payload) VALUES (?, ?, ?, ?, ?)"


def write_records(conn: sqlite3.Connection, records: Iterable[LogRecord]) -> None:
    """Write a batch of records in one transaction."""
    events: list[tuple[Any, ...]] = []
    conn.execute("BEGIN")
    try:
        for r in records:
            p = r.payload
            if r.kind == "event":
                events.append((r.session_id, r.timestamp, r.direction, r.event_type, _json(p)))
            elif r.kind == "session.start":
                routing = _dict(p.get("routing"))
                conn.execute(_START, (
                    r.session_id, p.get("started_at", r.timestamp), r.model_group,
                    routing.get("served_by_group"), r.deployment, r.client, p.get("dialect"), _json(routing),
                ))
            elif r.kind == "session.end":
                usage = _dict(p.get("usage"))
                duration = p.get("duration_s")
                started = r.timestamp - duration if isinstance(duration, (int, float)) else None
                conn.execute(_END, (
                    r.session_id, started, r.timestamp, duration, r.model_group, r.deployment, r.client,
                    _int(p.get("close_code")), p.get("close_reason"),
                    _int(p.get("frames_in")), _int(p.get("bytes_in")), _int(p.get("frames_out")),
                    _int(p.get("bytes_out")), _int(usage.get("input_tokens")), _int(usage.get("output_tokens")),
                    _int(usage.get("total_tokens")), _json(usage),
                ))
        if events:
            conn.executemany(_EVENT, events)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


_SESSION_COLUMNS = (
    "session_id", "started_at", "ended_at", "duration_s", "model_group", "served_by_group", "deployment", "client",
    "dialect", "close_code", "close_reason", "frames_in", "bytes_in", "frames_out", "bytes_out", "input_tokens",
    "output_tokens", "total_tokens", "usage", "routing",
)


def recent_sessions(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` sessions, newest first, JSON columns decoded."""
    rows = conn.execute(
        f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "
        "ORDER BY COALESCE(started_at, ended_at) DESC LIMIT ?", (limit,)
    ).fetchall()
    out = []
    for row in rows:
        d = dict(zip(_SESSION_COLUMNS, row, strict=True))
        for k in ("usage", "routing"):
            d[k] = json.loads(d[k]) if d[k] else None
        out.append(d)
    return out


def session_events(conn: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    """Every logged event of one session, in order."""
    rows = conn.execute(
        "SELECT ts, direction, event_type, payload FROM events WHERE session_id = ? ORDER BY id", (session_id,)
    ).fetchall()
    return [{"ts": ts, "direction": d, "event_type": t, "payload": json.loads(p) if p else None}
            for ts, d, t, p in rows]
