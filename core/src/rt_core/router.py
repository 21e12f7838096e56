"""The router: model group → deployment, with failover at connect.

For each session the router picks a deployment of the requested model group
with the configured strategy (:mod:`rt_core.routing.strategies`), among the
deployments with the lowest ``litellm_params.order`` that may be tried now,
and opens it.  When that fails it tries the next deployment of the group (each at most
once, ``num_retries`` extra attempts at most), then the groups listed in
``router_settings.fallbacks``.  The client never sees a failed attempt: it
only sees the session it finally gets, or one ``error`` event naming the
model, how many deployments were tried and the last upstream reason, then
close 1014 (tried and failed) or 1013 (nothing could be tried: every
deployment cooling down or at capacity).

An attempt fails when the upstream refuses or times out (``open()``), and
also when it fails *before the session is usable*: the session is usable
once the translator produces its first event for the client.  Translated
providers greet the client themselves on ``UpstreamOpened`` (Gemini, Nova
Sonic, mock), so they are usable at once and never wait here; passthrough
providers relay the upstream's own ``session.created``, so the router reads
upstream frames until that first event.  An upstream that accepts the
handshake and then closes, or sends ``error`` first, is therefore failed
over like one that refused.  The frames read and the translator's actions
are handed to the relay in :class:`Connection`, nothing is lost.

Every attempt is recorded as a :class:`ConnectAttempt` for the session's log
record, and feeds the deployment's health (:mod:`rt_core.routing.health`):
failures lead to cooldowns, successes to the latency average.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import anyio

from .config import Config
from .deployment import Deployment
from .errors import PluginError, SessionClosed, UpstreamClosed, UpstreamConnectError
from .events import Close, Event, Schedule, ToClient, ToUpstream, UpstreamOpened, error_object
from .plugins import PluginHost
from .routing import HealthBook, Strategy, get_strategy
from .session import Session
from .upstream import Upstream

__all__ = ["Router", "ConnectAttempt", "Connection"]

log = logging.getLogger(__name__)


@dataclass
class ConnectAttempt:
    """One try at opening a deployment, for the session's log record.

    ``deployment`` is the safe label (provider/model and id), never a key.
    """

    deployment: str
    ok: bool
    seconds: float
    error: str | None = None
    group: str | None = None
    status: int | None = None
    cooled_down: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False or k == "ok"}


@dataclass(eq=False)
class Connection:
    """A usable upstream, as the router hands it to the relay.

    :ivar actions: what the translator returned for ``UpstreamOpened`` and
        the upstream frames read so far, from its first event for the client
        on; the relay carries them out before starting its pumps.
    :ivar frames: upstream frames read by the router (and ``bytes``), for
        the session's counters.
    :ivar seconds: from the start of the successful attempt to usable.
    """

    upstream: Upstream
    deployment: Deployment
    actions: list[Any] = field(default_factory=list)
    frames: int = 0
    bytes: int = 0
    seconds: float = 0.0
    released: bool = False


class _AttemptFailed(Exception):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class Router:
    """Picks, opens and fails over deployments; one per gateway.

    :param clock: monotonic seconds (cooldowns, rpm windows, latency);
        injectable for tests.
    :param rng: the random source of ``simple-shuffle`` and of tie breaks;
        pass ``random.Random(seed)`` for deterministic tests.
    """

    def __init__(self, config: Config, host: PluginHost, *, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.config = config
        self.host = host
        self.settings = config.router
        self.clock = clock
        self.rng = rng or random.Random()
        self.groups: dict[str, list[Deployment]] = config.groups
        self.strategy: Strategy = get_strategy(self.settings.routing_strategy, self.settings.routing_strategy_args)
        self.health = HealthBook(self.settings, {g: len(d) for g, d in self.groups.items()}, clock)
        for group in self.groups:
            for fb in self.settings.fallbacks_for(group):
                if fb not in self.groups:
                    log.warning("router_settings.fallbacks: %r falls back to %r, which is not a model group", group, fb)

    def has_model(self, name: str) -> bool:
        return name in self.groups

    def candidates(self, model_name: str) -> list[Deployment]:
        return list(self.groups.get(model_name, []))

    def route(self, model_name: str) -> list[str]:
        """The model groups a session for ``model_name`` may use, in order."""
        out = [model_name]
        for g in self.settings.fallbacks_for(model_name):
            if g in self.groups and g not in out:
                out.append(g)
        return out

    # ------------------------------------------------------------------ connect

    async def connect(self, session: Session, attempts: list[ConnectAttempt] | None = None) -> Connection:
        """Open a usable upstream for ``session.model``, failing over as configured.

        Appends one :class:`ConnectAttempt` per try to ``attempts``.  The
        caller must hand the result back to :meth:`release` when the session
        ends (it holds a slot of the deployment's ``max_parallel_requests``).

        :raises SessionClosed: nothing worked (close 1014), or nothing could
            be tried (close 1013).
        """
        attempts = [] if attempts is None else attempts
        skipped: dict[str, str] = {}
        tried = 0
        last_error = "no deployment is configured"
        groups = self.route(session.model)
        retries = self.settings.num_retries
        for group in groups:
            deps = self.groups.get(group, [])
            limit = len(deps) if retries is None else min(len(deps), retries + 1)
            used: set[str] = set()
            while len(used) < limit:
                eligible = []
                for d in deps:
                    if d.id in used:
                        continue
                    why = self.health.skip_reason(d)
                    if why is None:
                        eligible.append(d)
                    else:
                        skipped[d.label] = why
                if not eligible:
                    break
                dep = self.strategy.pick(_first_order(eligible), self.health, self.rng)
                used.add(dep.id)
                skipped.pop(dep.label, None)
                tried += 1
                started = self.clock()
                self.health.acquire(dep)
                try:
                    conn = await self._attempt(dep, session, started)
                except _AttemptFailed as exc:
                    self.health.release(dep)
                    seconds = self.clock() - started
                    cooled = self.health.record_failure(dep, exc.message, status=exc.status)
                    attempts.append(ConnectAttempt(dep.label, False, round(seconds, 4), exc.message, dep.model_name,
                                                   exc.status, cooled))
                    last_error = exc.message
                    log.warning("session %s: %s failed (%s)%s", session.id, dep.label, exc.message,
                                "; cooling it down" if cooled else "")
                    if not exc.retryable:
                        self._give_up(session, groups, tried, last_error, skipped)
                    continue
                except BaseException:
                    self.health.release(dep)
                    raise
                self.health.record_success(dep, conn.seconds)
                attempts.append(ConnectAttempt(dep.label, True, round(conn.seconds, 4), None, dep.model_name))
                if dep.model_name != session.model:
                    log.info("session %s: model %r served by fallback group %r", session.id, session.model,
                             dep.model_name)
                return conn
        self._give_up(session, groups, tried, last_error, skipped)

    def release(self, conn: Connection | None) -> None:
        """The session that got ``conn`` has ended: free its slot."""
        if conn is not None and not conn.released:
            conn.released = True
            self.health.release(conn.deployment)

    def decision(self, session: Session, attempts: list[ConnectAttempt], conn: Connection | None) -> dict[str, Any]:
        """The routing decision, as it appears in the session's log records."""
        dep = conn.deployment if conn is not None else None
        return {
            "strategy": self.strategy.name,
            "model_group": session.model,
            "served_by_group": dep.model_name if dep else None,
            "deployment": dep.label if dep else None,
            "deployment_id": dep.id if dep else None,
            "fallback": bool(dep and dep.model_name != session.model),
            "connect_s": round(conn.seconds, 4) if conn else None,
            "attempts": [a.to_dict() for a in attempts],
        }

    def _give_up(self, session: Session, groups: list[str], tried: int, last_error: str,
                 skipped: dict[str, str]) -> NoReturn:
        session.deployment = None
        session.translator = None
        where = f"model {session.model!r}" + (f" (with fallbacks {', '.join(map(repr, groups[1:]))})"
                                               if len(groups) > 1 else "")
        skip_note = ""
        if skipped:
            kinds: dict[str, int] = {}
            for why in skipped.values():
                k = why.split(" (")[0].split(" for ")[0]
                kinds[k] = kinds.get(k, 0) + 1
            skip_note = " Skipped: " + ", ".join(f"{n} {k}" for k, n in kinds.items()) + "."
        if tried:
            message = (f"Could not connect {where}: {tried} deployment(s) tried, all failed. "
                       f"Last upstream error: {last_error}.{skip_note}")
            code, reason = 1014, "upstream unavailable"
        else:
            if skipped:
                detail = next(iter(skipped.values())) if len(skipped) == 1 else "none can take a session now"
                message = f"No deployment of {where} can take a session now ({detail}).{skip_note} Try again later."
            else:
                message = f"No deployment is configured for {where}."
            code, reason = 1013, "no deployment available"
        raise SessionClosed(code, reason, error_object(message, code="upstream_unavailable", type="server_error"))

    # ------------------------------------------------------------------ one attempt

    async def _attempt(self, dep: Deployment, session: Session, started: float) -> Connection:
        try:
            upstream = self._prepare(dep, session)
        except UpstreamConnectError as exc:
            raise _AttemptFailed(exc.message, status=exc.status, retryable=exc.retryable) from None
        timeout = dep.settings.effective_connect_timeout(self.config.gateway.connect_timeout)
        _, outbound = self.host.session_callers(dep.provider)
        conn = Connection(upstream, dep)
        phase = "open"
        try:
            with anyio.fail_after(timeout):
                await upstream.open()
                phase = "first event"
                usable = await self._take(conn, outbound(session=session, frame=UpstreamOpened()))
                while not usable:
                    frame = await upstream.receive()
                    conn.frames += 1
                    if isinstance(frame, (str, bytes)):
                        conn.bytes += len(frame)
                    usable = await self._take(conn, outbound(session=session, frame=frame))
        except TimeoutError:
            await _close_quietly(upstream, "connect timeout")
            what = "did not open" if phase == "open" else "sent no first event"
            raise _AttemptFailed(f"{dep.label} {what} within {timeout:g} s") from None
        except UpstreamConnectError as exc:
            await _close_quietly(upstream, "connect failed")
            raise _AttemptFailed(exc.message, status=exc.status, retryable=exc.retryable) from None
        except UpstreamClosed as exc:
            await _close_quietly(upstream, "closed before usable")
            raise _AttemptFailed(
                f"{dep.label} closed the connection before its first event "
                f"(code {exc.code}{': ' + exc.reason if exc.reason else ''})") from None
        except _AttemptFailed:
            await _close_quietly(upstream, "failed before usable")
            raise
        except Exception as exc:  # a plugin bug: log it fully, fail this attempt only
            log.error("session %s: plugin %r raised while opening %s: %r", session.id, dep.provider, dep.label,
                      exc, exc_info=exc)
            await _close_quietly(upstream, "internal error")
            raise _AttemptFailed(f"the {dep.provider} plugin failed opening {dep.label}: "
                                 f"{type(exc).__name__}") from None
        except BaseException:
            await _close_quietly(upstream, "cancelled")
            raise
        conn.seconds = self.clock() - started
        return conn

    def _prepare(self, dep: Deployment, session: Session) -> Upstream:
        hook = self.host.hook
        session.deployment = dep
        translator = _call(hook.create_translator, dep, session)
        if translator is None:
            raise PluginError(f"no plugin created a translator for provider {dep.provider!r}")
        session.translator = translator
        upstream: Upstream | None = _call(hook.connect_upstream, dep, session)
        if upstream is None:
            raise PluginError(f"no plugin returned an upstream for provider {dep.provider!r}")
        return upstream

    async def _take(self, conn: Connection, actions: list[Any] | None) -> bool:
        """Sort the translator's actions before the session is usable.

        Frames for the upstream go out now; from the first event for the
        client on, everything is kept for the relay (True: usable).  An
        ``error`` event or a ``Close`` before that fails the attempt.
        """
        dep = conn.deployment
        actions = list(actions or [])
        for i, action in enumerate(actions):
            kind = type(action)
            if kind is ToClient:
                ev = action.event
                etype = ev.type if isinstance(ev, Event) else ev.get("type")
                if etype == "error":
                    data = ev.data if isinstance(ev, Event) else ev
                    err = data.get("error")
                    msg = (err.get("message") or err.get("code")) if isinstance(err, dict) else None
                    msg = msg or "no message"
                    raise _AttemptFailed(f"{dep.label} sent an error before the session was usable: {msg}")
                conn.actions.extend(actions[i:])
                return True
            if kind is Close:
                detail = (action.error or {}).get("message") or action.reason or f"code {action.code}"
                raise _AttemptFailed(f"{dep.label} ended the session before it was usable: {detail}")
            if kind is ToUpstream:
                await conn.upstream.send(action.frame)
            elif kind is Schedule:
                conn.actions.append(action)
            else:
                raise TypeError(f"unknown action {action!r}")
        return False


def _order(dep: Deployment) -> float:
    value = (dep.settings.model_extra or {}).get("order")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("inf")


def _first_order(candidates: list[Deployment]) -> list[Deployment]:
    """LiteLLM's ``litellm_params.order``: only the lowest order present is a
    candidate (1 before 2; deployments without ``order`` last), so higher
    orders serve only when the lower ones cannot."""
    best = min(_order(d) for d in candidates)
    return [d for d in candidates if _order(d) == best]


async def _close_quietly(upstream: Upstream, reason: str) -> None:
    with anyio.CancelScope(shield=True), anyio.move_on_after(1):
        try:
            await upstream.aclose(1001, reason)
        except Exception:
            log.debug("closing a failed upstream raised", exc_info=True)


def _call(caller: Any, dep: Deployment, session: Session) -> Any:
    try:
        return caller(deployment=dep, session=session)
    except (UpstreamConnectError, PluginError):
        raise
    except Exception as exc:
        raise UpstreamConnectError(
            f"plugin for {dep.provider!r} failed preparing session {session.id}: {type(exc).__name__}: {exc}",
            retryable=True,
        ) from exc
