"""The sink machinery without a gateway: background writer, JSON lines,
SQLite store, and how the EventLogger treats plugins that raise or block."""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import closing
import threading
import time
from typing import Any

import pytest

from rt_core import LogRecord, hookimpl
from rt_core.config import GatewaySettings
from rt_core.eventlog import EventLogger
from rt_core.plugins import PluginHost
from rt_core.sinks import BackgroundWriter, JsonlSink, SqliteSink
from rt_core.store import open_store, recent_sessions, session_events


def rec(kind: str, sid: str = "sess_1", **kw: Any) -> LogRecord:
    return LogRecord(kind=kind, session_id=sid, timestamp=kw.pop("timestamp", time.time()),
                     model_group="gpt-realtime", deployment="openai/gpt-realtime (live)", client="key-abcd1234", **kw)


def session_records(sid: str = "sess_1") -> list[LogRecord]:
    return [
        rec("session.start", sid, payload={"started_at": 1000.0, "dialect": "ga", "routing": {
            "strategy": "simple-shuffle", "served_by_group": "gpt-realtime", "attempts": [{"ok": True}]}}),
        rec("event", sid, direction="upstream->client", event_type="session.created",
            payload={"type": "session.created"}),
        rec("event", sid, direction="client->upstream", event_type="response.create",
            payload={"type": "response.create"}),
        rec("session.end", sid, timestamp=1003.5, payload={
            "duration_s": 3.5, "close_code": 1000, "close_reason": "", "frames_in": 4, "bytes_in": 400,
            "frames_out": 9, "bytes_out": 900,
            "usage": {"total_tokens": 60, "input_tokens": 20, "output_tokens": 40}}),
    ]


# ------------------------------------------------------------------ BackgroundWriter


def test_put_never_blocks_on_a_blocked_writer_and_counts_drops(caplog):
    gate = threading.Event()
    written: list[int] = []

    def write(items: list[int]) -> None:
        gate.wait(5)
        written.extend(items)

    w = BackgroundWriter("test sink", write, maxsize=5)
    caplog.set_level(logging.WARNING, "rt_core.sinks.background")
    try:
        started = time.perf_counter()
        results = [w.put(i) for i in range(50)]
        assert time.perf_counter() - started < 0.5  # 50 puts against a stuck writer: no waiting
        # At most five queued plus the (at most five) the thread took before it got stuck.
        assert w.dropped == results.count(False) >= 40
        assert "dropped" in caplog.text and "test sink" in caplog.text
        gate.set()
        assert w.flush(5)
        assert written == [i for i, ok in enumerate(results) if ok]
    finally:
        gate.set()
        assert w.close(5)
    assert w.put(99) is False  # closed: dropped, counted, never raised


def test_a_failing_write_is_counted_and_the_writer_goes_on(caplog):
    seen: list[list[int]] = []

    def write(items: list[int]) -> None:
        seen.append(items)
        if 0 in items:
            raise OSError("disk full")

    w = BackgroundWriter("flaky sink", write)
    w.put(0)
    assert w.flush(5)
    w.put(1)
    assert w.flush(5)
    assert w.errors == 1 and w.written == 1
    assert "disk full" in caplog.text
    assert w.close(5)


# ------------------------------------------------------------------ sinks


def test_jsonl_sink_appends_json_lines(tmp_path):
    path = tmp_path / "logs" / "rt.jsonl"
    sink = JsonlSink(path)
    for r in session_records():
        sink.on_log_event(r)
    assert sink.close(5)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["session.start", "event", "event", "session.end"]
    assert lines[1]["event_type"] == "session.created" and lines[1]["direction"] == "upstream->client"


def test_jsonl_sink_on_stdout(capsys):
    sink = JsonlSink("stdout")
    sink.on_log_event(rec("event", event_type="response.done", payload={"type": "response.done"}))
    assert sink.close(5)
    assert json.loads(capsys.readouterr().out)["event_type"] == "response.done"


def test_sqlite_sink_stores_sessions_and_events_in_wal_mode(tmp_path):
    db = tmp_path / "rt.db"
    sink = SqliteSink(db)
    for r in session_records("sess_a") + session_records("sess_b"):
        sink.on_log_event(r)
    assert sink.close(5)
    # sqlite3's own context manager commits but does not close: close it.
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = open_store(db, create=False)
    try:
        rows = recent_sessions(conn, 10)
        assert {r["session_id"] for r in rows} == {"sess_a", "sess_b"}
        a = next(r for r in rows if r["session_id"] == "sess_a")
        assert (a["started_at"], a["duration_s"], a["close_code"]) == (1000.0, 3.5, 1000)
        assert (a["input_tokens"], a["output_tokens"], a["total_tokens"]) == (20, 40, 60)
        assert (a["frames_in"], a["bytes_out"], a["dialect"]) == (4, 900, "ga")
        assert a["routing"]["strategy"] == "simple-shuffle"
        evs = session_events(conn, "sess_a")
        assert [e["event_type"] for e in evs] == ["session.created", "response.create"]
    finally:
        conn.close()


def test_sqlite_session_row_is_complete_when_the_end_arrives_first(tmp_path):
    db = tmp_path / "rt.db"
    sink = SqliteSink(db)
    start, _, _, end = session_records()
    sink.on_log_event(end)
    sink.on_log_event(start)
    assert sink.close(5)
    conn = open_store(db, create=False)
    try:
        (row,) = recent_sessions(conn)
    finally:
        conn.close()
    assert row["close_code"] == 1000 and row["dialect"] == "ga" and row["started_at"] == 1000.0


# ------------------------------------------------------------------ EventLogger and misbehaving plugins


class Keeper:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    @hookimpl
    def on_log_event(self, record: LogRecord) -> None:
        self.records.append(record)


class Raiser:
    @hookimpl
    def on_log_event(self, record: LogRecord) -> None:
        raise RuntimeError("sink exploded")


class Sleeper:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.threads: set[str] = set()
        self.stop = threading.Event()

    @hookimpl
    def on_log_event(self, record: LogRecord) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        self.stop.wait(self.delay)


def host_with(**plugins: object) -> PluginHost:
    return PluginHost(autoload=False, plugins=plugins, env={})


def test_a_raising_plugin_neither_stops_the_others_nor_propagates(caplog):
    keeper = Keeper()
    logger = EventLogger(host_with(a_raiser=Raiser(), keeper=keeper))
    for r in session_records():
        logger.emit(r)
    assert len(keeper.records) == 4
    assert logger.errors == 4
    assert "sink exploded" in caplog.text and "'a_raiser'" in caplog.text


def test_a_slow_plugin_is_moved_off_the_session_path(caplog):
    sleeper = Sleeper(0.2)
    keeper = Keeper()
    logger = EventLogger(host_with(sleeper=sleeper, keeper=keeper))
    logger.configure(GatewaySettings(rt_log_slow_sink_s=0.05, rt_log_queue_size=2))
    started = time.perf_counter()
    try:
        for _ in range(5):
            for r in session_records():
                logger.emit(r)
    finally:
        took = time.perf_counter() - started
        threading.Timer(1.0, sleeper.stop.set).start()  # unblock the sink whatever happens
    assert took < 1.0  # inline it would have been 20 x 0.2 s
    assert len(keeper.records) == 20
    stats = logger.stats()["sinks"]["sleeper"]
    assert stats["offloaded"] is True
    assert logger.dropped >= 10 and stats["dropped"] == logger.dropped
    assert "took" in caplog.text and "background thread" in caplog.text
    assert logger.close(5)
    assert any(t.startswith("rt-") for t in sleeper.threads)


def test_builtin_sinks_are_plugins_and_can_be_blocked(tmp_path):
    host = host_with()
    logger = EventLogger(host, "*", settings=GatewaySettings(rt_log_jsonl=str(tmp_path / "a.jsonl"),
                                                             rt_log_sqlite=str(tmp_path / "a.db")))
    assert {"rt-log-jsonl", "rt-log-sqlite"} <= {n for n, _ in host.pm.list_name_plugin()}
    assert logger.enabled
    assert logger.close(5)

    blocked = PluginHost(autoload=False, env={"RT_BLOCK_PLUGINS": "rt-log-sqlite"})
    logger = EventLogger(blocked, "*", settings=GatewaySettings(rt_log_sqlite=str(tmp_path / "b.db")))
    assert not logger.enabled and not logger.sinks
    assert not (tmp_path / "b.db").exists()


@pytest.mark.parametrize("value,expected", [(True, "default"), ("true", "default"), (False, None),
                                            ("/x/rt.db", "/x/rt.db")])
def test_sqlite_setting_values(value, expected):
    assert GatewaySettings(rt_log_sqlite=value).rt_log_sqlite == expected


def test_sessions_command_reads_the_store_named_in_a_config(tmp_path, capsys):
    from rt_core.cli import build_parser

    db = tmp_path / "from-config.db"
    sink = SqliteSink(db)
    for r in session_records("sess_cfg"):
        sink.on_log_event(r)
    assert sink.close(5)
    config = tmp_path / "rt.yaml"
    config.write_text(f"model_list: []\nlitellm_settings:\n  rt_log_sqlite: {db}\n")
    args = build_parser().parse_args(["sessions", "--config", str(config), "--limit", "5", "--json"])
    assert args.func(args) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["session_id"] == "sess_cfg" and row["total_tokens"] == 60
