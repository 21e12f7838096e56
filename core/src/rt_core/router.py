"""The router: model group → deployment, with failover at connect.

This is the walking-skeleton router: it tries the group's deployments in
order until one opens.  Strategies, cooldowns and cross-group fallbacks build
on :meth:`Router.connect`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio

from .config import Config
from .deployment import Deployment
from .errors import PluginError, SessionClosed, UpstreamConnectError
from .plugins import PluginHost
from .session import Session
from .upstream import Upstream

__all__ = ["Router", "ConnectAttempt"]

log = logging.getLogger(__name__)


@dataclass
class ConnectAttempt:
    """One try at opening a deployment, for the session's log record."""

    deployment: str
    ok: bool
    seconds: float
    error: str | None = None


@dataclass
class Router:
    config: Config
    host: PluginHost
    attempts_log: list[ConnectAttempt] = field(default_factory=list)

    def has_model(self, name: str) -> bool:
        return name in self.config.groups

    def candidates(self, model_name: str) -> list[Deployment]:
        return list(self.config.groups.get(model_name, []))

    async def connect(self, session: Session, attempts: list[ConnectAttempt] | None = None) -> Upstream:
        """Open an upstream for ``session.model``, failing over across the group.

        :raises SessionClosed: every deployment failed (close 1014, or 1013
            when none could be tried).
        """
        attempts = [] if attempts is None else attempts
        candidates = self.candidates(session.model)
        last_error = "no deployment is configured"
        for dep in candidates:
            started = anyio.current_time()
            try:
                upstream = await self.open_deployment(dep, session)
            except UpstreamConnectError as exc:
                last_error = exc.message
                attempts.append(ConnectAttempt(dep.label, False, anyio.current_time() - started, exc.message))
                log.warning("session %s: %s failed to connect: %s", session.id, dep.label, exc.message)
                continue
            attempts.append(ConnectAttempt(dep.label, True, anyio.current_time() - started))
            return upstream
        n = len(candidates)
        message = (
            f"Could not connect model {session.model!r}: {n} deployment(s) tried, all failed. "
            f"Last upstream error: {last_error}"
        )
        raise SessionClosed(
            1014 if n else 1013,
            "upstream unavailable",
            {"type": "server_error", "code": "upstream_unavailable", "message": message, "param": None, "event_id": None},
        )

    async def open_deployment(self, dep: Deployment, session: Session) -> Upstream:
        """Create the translator and upstream for ``dep`` and open it under the
        deployment's connect timeout."""
        hook = self.host.hook
        session.deployment = dep
        translator = _call(hook.create_translator, dep, session)
        if translator is None:
            raise PluginError(f"no plugin created a translator for provider {dep.provider!r}")
        session.translator = translator
        upstream: Any = _call(hook.connect_upstream, dep, session)
        if upstream is None:
            raise PluginError(f"no plugin returned an upstream for provider {dep.provider!r}")
        timeout = dep.settings.effective_connect_timeout(self.config.gateway.connect_timeout)
        try:
            with anyio.fail_after(timeout):
                await upstream.open()
        except TimeoutError:
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await upstream.aclose(1001, "connect timeout")
            raise UpstreamConnectError(f"{dep.label} did not open within {timeout:g} s") from None
        except UpstreamConnectError:
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await upstream.aclose(1001, "connect failed")
            raise
        return upstream


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
