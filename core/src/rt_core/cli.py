"""``rt-core``: serve, check a config, list plugins.

::

    rt-core serve [--config FILE] [--host H] [--port P] [--realtime-priority N]
    rt-core check CONFIG
    rt-core plugins
    rt-core sessions [--db FILE | --config FILE] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from typing import Any

import anyio

from . import __version__
from .config import Config, load_config
from .errors import ConfigError, PluginError
from .plugins import PluginHost
from .priority import enter_fifo

log = logging.getLogger("rt_core")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().level > logging.DEBUG:
        # The WebSocket libraries log every connection at INFO; rt logs sessions itself.
        for name in ("websockets", "picows", "aiofastnet"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _load(config_path: str | None) -> tuple[PluginHost, Config]:
    host = PluginHost()
    config = load_config(config_path, host.providers())
    return host, config


async def _serve(host_plugins: PluginHost, config: Config, bind: str, port: int) -> None:
    from .server import Gateway

    gateway = Gateway(config, host_plugins)
    async with anyio.create_task_group() as tg:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            actual = await tg.start(gateway.serve, bind, port)
            # Everything loaded so far lives as long as the process: keep it out
            # of the cyclic GC's full collections, whose pauses grow with the
            # number of objects they walk (docs/performance.md).
            gc.collect()
            gc.freeze()
            shown = f"[{bind}]" if ":" in bind else bind
            log.info(
                "rt %s ready on http://%s:%d (WebSocket ws://%s:%d/v1/realtime?model=NAME); models: %s",
                __version__, shown, actual, shown, actual, ", ".join(config.model_names) or "(none)",
            )
            async for signum in signals:
                log.info("received %s: stopping", signal.Signals(signum).name)
                tg.cancel_scope.cancel()
                break


def _run_async(fn: Any, *args: Any) -> None:
    backend_options: dict[str, Any] = {}
    try:
        import uvloop  # noqa: F401

        if os.environ.get("RT_LOOP", "uvloop") == "uvloop":
            backend_options["use_uvloop"] = True
    except ImportError:
        pass
    anyio.run(fn, *args, backend="asyncio", backend_options=backend_options)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        host, config = _load(args.config)
    except (ConfigError, PluginError) as exc:
        print(f"rt-core: {exc}", file=sys.stderr)
        return 2
    if not config.deployments:
        log.warning("no models configured: every session will be refused")
    priority = args.realtime_priority if args.realtime_priority is not None else config.gateway.rt_realtime_priority
    if priority is not None:
        try:
            enter_fifo(priority)
        except OSError as exc:
            print(f"rt-core: rt_realtime_priority: {exc}", file=sys.stderr)
            return 2
        log.info("event loop thread in SCHED_FIFO at priority %d", priority)
    if "rt_log_sqlite" not in config.gateway.model_fields_set:
        # The embedded default store: `rt-core sessions` reads it back.
        # `rt_log_sqlite: false` turns it off.
        config.gateway.rt_log_sqlite = "default"
    try:
        _run_async(_serve, host, config, args.host, args.port)
    except OSError as exc:
        print(f"rt-core: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    try:
        host, config = _load(args.config)
    except (ConfigError, PluginError) as exc:
        print(f"rt-core: {exc}", file=sys.stderr)
        return 2
    print(f"{config.source}: OK — {len(config.deployments)} deployment(s) in {len(config.groups)} model group(s)")
    for name, deps in config.groups.items():
        print(f"  {name}: " + ", ".join(d.label for d in deps))
    for w in config.warnings:
        print(f"  warning: {w}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    try:
        host = PluginHost()
    except PluginError as exc:
        print(f"rt-core: {exc}", file=sys.stderr)
        return 2
    for info in host.plugin_infos():
        dist = f"{info.distribution} {info.version}" if info.distribution else "(built in)"
        prov = f"  providers: {', '.join(info.providers)}" if info.providers else ""
        print(f"{info.name:<12} {dist}{prov}")
    return 0


def _store_path(args: argparse.Namespace) -> str:
    from .store import default_db_path

    if args.db:
        return str(args.db)
    if args.config:
        _, config = _load(args.config)
        target = config.gateway.rt_log_sqlite
        if target and target != "default":
            return target
    return str(default_db_path())


def _fmt_time(ts: float | None) -> str:
    import datetime

    if ts is None:
        return "-"
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _fmt(value: object, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}{suffix}"
    return f"{value}{suffix}"


def cmd_sessions(args: argparse.Namespace) -> int:
    """List recent sessions from the SQLite store (``litellm_settings.rt_log_sqlite``)."""
    import json
    import sqlite3
    from contextlib import closing

    from .store import open_store, recent_sessions

    try:
        path = _store_path(args)
    except (ConfigError, PluginError) as exc:
        print(f"rt-core: {exc}", file=sys.stderr)
        return 2
    try:
        with closing(open_store(path, create=False)) as conn:
            rows = recent_sessions(conn, args.limit)
    except FileNotFoundError:
        print(f"rt-core: no session store at {path} (enable it with litellm_settings.rt_log_sqlite, "
              "or pass --db FILE)", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"rt-core: cannot read the session store {path}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    header = ("STARTED", "SESSION", "MODEL", "DEPLOYMENT", "DURATION", "CLOSE", "TOKENS IN/OUT/TOTAL")
    table = [header]
    for r in rows:
        model = r["model_group"] or "-"
        if r["served_by_group"] and r["served_by_group"] != r["model_group"]:
            model += f" -> {r['served_by_group']}"
        tokens = "/".join(_fmt(r[k]) for k in ("input_tokens", "output_tokens", "total_tokens"))
        table.append((_fmt_time(r["started_at"]), r["session_id"], model, r["deployment"] or "-",
                      _fmt(r["duration_s"], " s") if r["ended_at"] is not None else "open",
                      _fmt(r["close_code"]), tokens))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print(f"(no sessions in {path})")
    return 0


def _rt_priority(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 99:
        raise argparse.ArgumentTypeError("a SCHED_FIFO priority is 1..99")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rt-core", description="rt: the realtime AI gateway")
    p.add_argument("--version", action="version", version=f"rt-core {__version__}")
    p.add_argument("--log-level", default=os.environ.get("RT_LOG_LEVEL", "INFO"))
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--config", "-c", default=None, help="config file (LiteLLM realtime format); default: embedded")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", "-p", type=int, default=4000)
    s.add_argument("--realtime-priority", type=_rt_priority, default=None, metavar="N",
                   help="run the event loop in SCHED_FIFO at priority N (1-99), so other processes on the host "
                        "never preempt it (overrides rt_realtime_priority; Linux, needs CAP_SYS_NICE)")
    s.set_defaults(func=cmd_serve)
    c = sub.add_parser("check", help="validate a config without serving")
    c.add_argument("config")
    c.set_defaults(func=cmd_check)
    pl = sub.add_parser("plugins", help="list discovered plugins")
    pl.set_defaults(func=cmd_plugins)
    se = sub.add_parser("sessions", help="list recent sessions from the SQLite store")
    where = se.add_mutually_exclusive_group()
    where.add_argument("--db", default=None, help="store file (default: $RT_DB or ~/.local/state/rt/rt.db)")
    where.add_argument("--config", "-c", default=None, help="read the store path (rt_log_sqlite) from this config")
    se.add_argument("--limit", "-n", type=int, default=20, help="how many sessions, newest first (default 20)")
    se.add_argument("--json", action="store_true", help="print a JSON array, for scripts")
    se.set_defaults(func=cmd_sessions)
    return p


#: Set to any value to keep CPython's own small-object allocator under ``rt-core serve``.
KEEP_PYMALLOC_ENV = "RT_KEEP_PYMALLOC"


def _system_allocator_argv() -> list[str] | None:
    """The command line to re-run ``rt-core serve`` with glibc's malloc, or None (keep this process).

    Why: after a load peak, CPython's pymalloc keeps every 1 MiB arena that
    still holds a single live block, and a few long-lived blocks allocated
    during the peak (free lists, caches) pin a dozen of them.  With
    ``PYTHONMALLOC=malloc`` those blocks pin 4 KiB pages instead, which
    ``malloc_trim`` (:mod:`rt_core.memory`, run when the gateway goes idle)
    returns around; the settled RSS after a 500-session run came down from
    +20 % to +14 % of its pre-run level at the same CPU (docs/performance.md).
    The allocator is chosen when the interpreter starts, hence the re-exec
    (same PID, so supervisors and signals are unaffected).

    Only on glibc (where ``malloc_trim`` exists), and never when the user set
    ``PYTHONMALLOC`` or :data:`KEEP_PYMALLOC_ENV`.
    """
    if os.environ.get("PYTHONMALLOC") or os.environ.get(KEEP_PYMALLOC_ENV):
        return None
    if not sys.platform.startswith("linux") or not sys.executable:
        return None
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError):
        return None
    return [sys.executable, "-m", "rt_core.cli", *sys.argv[1:]]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve" and argv is None:
        reexec = _system_allocator_argv()
        if reexec is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                os.execve(reexec[0], reexec, {**os.environ, "PYTHONMALLOC": "malloc"})
            except OSError as exc:  # keep serving on pymalloc rather than not at all
                print(f"rt-core: could not restart with the system allocator ({exc}); using pymalloc",
                      file=sys.stderr)
    _setup_logging(args.log_level)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
