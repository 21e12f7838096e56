"""The rt plugin contract: every hook a plugin may implement.

Plugins are found through the ``rt.plugins`` entry-point group (entry-point
name = plugin name) and implement these hooks with ``@rt_core.hookimpl``.
Hooks are synchronous and must not block: async work is reached through the
objects they return (the :class:`~rt_core.upstream.Upstream` returned by
``connect_upstream``).  Each hook is documented again in ``docs/hooks.md``; a
test fails when one is missing there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .deployment import Deployment, ProviderSpec
    from .events import Action, Event, Signal
    from .logrecord import LogRecord
    from .session import Session
    from .upstream import Upstream

PROJECT = "rt"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def rt_providers() -> list[ProviderSpec]:  # type: ignore[empty-body]
    """Declare the providers (``litellm_params.model`` prefixes) a plugin serves.

    Called once at start-up.  Needed so config validation can check each
    deployment's parameters with the provider's own settings model and name the
    available providers when a prefix is unknown, and so the embedded default
    config can offer a model for each provider whose API key is in the
    environment.

    :return: a list of :class:`~rt_core.ProviderSpec`; all results are collected.
    """


@hookspec(firstresult=True)
def create_translator(deployment: Deployment, session: Session) -> Any | None:
    """Create the per-session translator state for a deployment.

    Called once per session (and once per failover attempt) before
    ``connect_upstream``.  A separate hook from ``connect_upstream`` because the
    translator is pure (sans-I/O) and must exist before any socket does:
    tests build it without a network, and some providers build their first
    upstream message from client events that arrive after the connection.

    :param deployment: the deployment chosen by the router.
    :param session: the session; the result is stored as ``session.translator``.
    :return: the translator for this session, or ``None`` when the deployment
        belongs to another plugin.  The first non-None result wins.
    """


@hookspec(firstresult=True)
def connect_upstream(deployment: Deployment, session: Session) -> Upstream | None:
    """Return an unopened :class:`~rt_core.Upstream` for the deployment.

    Called for each connection attempt.  The core then awaits
    ``upstream.open()`` under the deployment's connect timeout, so this hook
    must not do I/O itself.

    :param deployment: the deployment chosen by the router.
    :param session: the session (its translator already exists).
    :return: an Upstream, or ``None`` when the deployment belongs to another
        plugin.  The first non-None result wins.
    """


@hookspec(firstresult=True)
def translate_inbound(session: Session, event: Event | Signal) -> list[Action] | None:
    """Turn one client event (GA dialect) into actions.

    Called for every client event after the dialect edge (beta events are
    already GA here), and for :class:`~rt_core.TimerFired` signals the session
    scheduled.  Only the session's own provider plugin and plugins that serve
    no provider are consulted, so wrappers can observe or rewrite events.

    :param session: the session.
    :param event: the client event, or a timer signal.
    :return: the list of actions to carry out, in order (an empty list drops
        the event).  The first non-None result wins; raise
        :class:`~rt_core.ClientEventError` to answer the client with an
        ``error`` event while keeping the session open.
    """


@hookspec(firstresult=True)
def translate_outbound(session: Session, frame: Any) -> list[Action] | None:
    """Turn one upstream frame (or an upstream signal) into actions.

    Called for every frame the Upstream's ``receive()`` returns, and for the
    :class:`~rt_core.UpstreamOpened` / :class:`~rt_core.UpstreamLost` signals.

    :param session: the session.
    :param frame: the upstream frame (``str``/``bytes`` or a provider object),
        or a signal.
    :return: the list of actions, in order.  The first non-None result wins.
        For ``UpstreamLost``, ``None`` selects the core default (an ``error``
        event carrying the upstream close code and reason, then close).
    """


@hookspec
def on_log_event(record: LogRecord) -> None:
    """Receive one log record (session start, a selected event, session end).

    Called for every record on the session's own task, so it must return at
    once: sinks enqueue the record and write it in the background, bounded.
    An implementation that is slow anyway is moved by the core to a
    background thread with a bounded queue (and a warning), so it can never
    slow a session.
    Records are already redacted (no keys, audio replaced by its length).
    Every implementation is called; exceptions are caught, counted and logged
    by the core, never propagated into the session.

    :param record: the record; treat it as read-only.
    """
