"""Building redacted log records and handing them to ``on_log_event``.

The session calls :class:`EventLogger` for its start, for each selected event
(``logged_real_time_event_types``) and for its end.  Records never contain a
key, and audio (or any other base64 payload) is replaced by its length, so
sinks can store them as they are.

Every ``on_log_event`` implementation is called separately, on the session's
task as the hookspec says, so one that raises neither stops the others nor
reaches the session: its exceptions are counted and logged.  A sink must
return at once (the built-in ones only enqueue); one that does not -- a call
slower than ``rt_log_slow_sink_s`` -- is moved to its own background thread
with a bounded queue, with a warning, so it can never slow sessions again.

The built-in sinks (:mod:`rt_core.sinks`) are registered as plugins named
``rt-log-jsonl`` and ``rt-log-sqlite`` when the config enables them
(``RT_BLOCK_PLUGINS`` can still block them).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .logrecord import LogRecord
from .plugins import PluginHost
from .sinks import BackgroundWriter, builtin_sinks

if TYPE_CHECKING:
    from .config import Config, GatewaySettings

__all__ = ["EventLogger", "redact", "DEFAULT_LOGGED_TYPES"]

log = logging.getLogger(__name__)

DEFAULT_LOGGED_TYPES = ("session.created", "response.create", "response.done")

#: Keys whose values may be credentials (MCP tool ``authorization``/``headers``,
#: ephemeral ``client_secret``): replaced by ``"<redacted>"`` whatever they hold.
_SECRET_KEYS = frozenset({"api_key", "api-key", "apikey", "authorization", "client_secret", "headers",
                          "password", "secret", "x-api-key"})
_B64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_MIN_B64 = 256
_WARN_EVERY_S = 10.0


def _b64_note(s: str) -> str:
    n = len(s) * 3 // 4 - (len(s) - len(s.rstrip("=")))
    return f"<base64: {n} bytes>"


def _redact(value: Any, key: str | None, audio_key: str | None) -> Any:
    if isinstance(value, dict):
        return {k: ("<redacted>" if isinstance(k, str) and k.lower() in _SECRET_KEYS and v
                    else _redact(v, k, None)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key, None) for v in value]
    if isinstance(value, str) and value:
        if key is not None and (key == "audio" or key == audio_key):
            return _b64_note(value)
        if len(value) >= _MIN_B64:
            if value.startswith("data:"):
                head, sep, data = value.partition(",")
                if sep and head.endswith(";base64"):
                    return f"<{head[5:-7] or 'data'} data URL, base64: {len(data) * 3 // 4} bytes>"
            if _B64.match(value):
                return _b64_note(value)
    return value


def redact(value: Any, event_type: str | None = None) -> Any:
    """A copy of ``value`` without audio, base64 payloads or credentials.

    ``audio`` strings, the ``delta`` of audio delta events, data URLs and any
    other string of 256+ base64 characters become ``"<base64: N bytes>"``;
    credential-like keys (``authorization``, ``headers``, ``api_key``,
    ``client_secret`` ...) become ``"<redacted>"``.  Text (transcripts, text
    deltas, instructions) is kept: it is what a session record is for.
    """
    audio_key = "delta" if event_type is not None and event_type.endswith("audio.delta") else None
    if isinstance(value, dict):
        return {k: ("<redacted>" if isinstance(k, str) and k.lower() in _SECRET_KEYS and v
                    else _redact(v, k, audio_key)) for k, v in value.items()}
    return _redact(value, None, None)


class _Slot:
    """One ``on_log_event`` implementation, as the logger calls it."""

    __slots__ = ("name", "fn", "argnames", "errors", "worker", "_last_warning")

    def __init__(self, name: str, fn: Any, argnames: tuple[str, ...]) -> None:
        self.name = name
        self.fn = fn
        self.argnames = argnames
        self.errors = 0
        self.worker: BackgroundWriter | None = None
        self._last_warning = 0.0

    def call(self, record: LogRecord) -> None:
        """Call the implementation; count and log (rate-limited) what it raises."""
        try:
            self.fn(**{a: record for a in self.argnames})
        except Exception as exc:
            self.errors += 1
            now = time.monotonic()
            if now - self._last_warning >= _WARN_EVERY_S:
                self._last_warning = now
                log.warning("on_log_event of plugin %r raised (%d time(s) so far); the record was dropped for it: %r",
                            self.name, self.errors, exc, exc_info=self.errors == 1)

    def call_each(self, records: list[LogRecord]) -> None:
        for r in records:
            self.call(r)


class EventLogger:
    """Selects events by type and emits redacted records through the hook.

    :param host: the plugin host whose ``on_log_event`` implementations get records.
    :param types: ``"*"`` or the event types to log (``logged_real_time_event_types``).
    :param settings: when given, the built-in sinks it enables are created and
        registered (see :meth:`configure`).
    """

    def __init__(self, host: PluginHost, types: Iterable[str] | str = DEFAULT_LOGGED_TYPES, *,
                 settings: GatewaySettings | None = None) -> None:
        self.host = host
        self.hook = host.hook.on_log_event
        self.all = types == "*" or (not isinstance(types, str) and "*" in types)
        self.types = frozenset([types] if isinstance(types, str) else types)
        self.slow_call_s = 0.05
        self.queue_size = 10_000
        self.sinks: dict[str, Any] = {}
        self._slots: list[_Slot] = []
        self._configured: Any = None
        self.enabled = False
        self.refresh()
        if settings is not None:
            self.configure(settings)

    @classmethod
    def from_config(cls, host: PluginHost, config: Config) -> EventLogger:
        return cls(host, config.gateway.logged_real_time_event_types, settings=config.gateway)

    # ------------------------------------------------------------------ set-up

    def configure(self, settings: GatewaySettings) -> None:
        """Create and register the built-in sinks ``settings`` enables; once per settings object."""
        if self._configured is settings:
            return
        self._configured = settings
        self.slow_call_s = settings.rt_log_slow_sink_s
        self.queue_size = settings.rt_log_queue_size
        for name, sink in builtin_sinks(settings).items():
            if self.host.pm.is_blocked(name) or self.host.pm.get_plugin(name) is not None:
                continue
            self.host.register(sink, name)
            self.sinks[name] = sink
            log.info("event log: %s writes to %s", name, getattr(sink, "path", None) or getattr(sink, "target", "?"))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the ``on_log_event`` implementations (after plugins were registered)."""
        old = {s.name: s for s in self._slots}
        slots = []
        for impl in self.hook.get_hookimpls():
            if impl.hookwrapper or impl.wrapper:
                continue
            slot = old.get(impl.plugin_name)
            if slot is None or slot.fn is not impl.function:
                slot = _Slot(impl.plugin_name, impl.function, tuple(impl.argnames))
            slots.append(slot)
        self._slots = slots
        self.enabled = bool(slots)

    # ------------------------------------------------------------------ records

    def wants(self, event_type: str) -> bool:
        return self.enabled and (self.all or event_type in self.types)

    def emit(self, record: LogRecord) -> None:
        for slot in self._slots:
            if slot.worker is not None:
                slot.worker.put(record)
                continue
            started = time.perf_counter()
            slot.call(record)
            took = time.perf_counter() - started
            if took > self.slow_call_s and slot.name not in self.sinks:  # built-in sinks only enqueue
                self._offload(slot, took)

    def _offload(self, slot: _Slot, took: float) -> None:
        log.warning("on_log_event of plugin %r took %.0f ms (limit %.0f ms): from now on it is called on a "
                    "background thread with a bounded queue; sinks must enqueue and return at once",
                    slot.name, took * 1000, self.slow_call_s * 1000)
        slot.worker = BackgroundWriter(f"on_log_event of plugin {slot.name!r}", slot.call_each,
                                       maxsize=self.queue_size, batch_size=50)

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
            payload=redact(payload or {}, event_type),
        ))

    # ------------------------------------------------------------------ health

    @property
    def errors(self) -> int:
        """Exceptions raised by sinks so far (in calls and in background writes)."""
        return sum(s.errors for s in self._slots) + sum(w.errors for w in self._writers())

    @property
    def dropped(self) -> int:
        """Records dropped so far because a sink's queue was full."""
        return sum(w.dropped for w in self._writers())

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"errors": self.errors, "dropped": self.dropped, "sinks": {}}
        for s in self._slots:
            entry: dict[str, Any] = {"call_errors": s.errors, "offloaded": s.worker is not None}
            sink = self.sinks.get(s.name)
            writer = s.worker or getattr(sink, "writer", None)
            if writer is not None:
                entry.update(writer.stats())
            out["sinks"][s.name] = entry
        return out

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every background writer has written what it holds."""
        deadline = time.monotonic() + timeout
        return all([w.flush(max(0.0, deadline - time.monotonic())) for w in self._writers()])

    def close(self, timeout: float = 5.0) -> bool:
        """Drain and stop the background writers (gateway shutdown)."""
        deadline = time.monotonic() + timeout
        return all([w.close(max(0.0, deadline - time.monotonic())) for w in self._writers()])

    def _writers(self) -> list[BackgroundWriter]:
        out = [s.worker for s in self._slots if s.worker is not None]
        out += [w for w in (getattr(sink, "writer", None) for sink in self.sinks.values())
                if isinstance(w, BackgroundWriter)]
        return out
