"""The session object plugins see.

A :class:`Session` is the per-connection state shared by the core and the
session's provider plugin: identity, the chosen deployment, the client's
dialect, the injected id factory and clock, and the translator the provider
created.  It holds no sockets: the relay (``rt_core.relay``) does the I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .deployment import Deployment
from .events import IdFactory, monotonic

__all__ = ["Session", "ClientIdentity"]


@dataclass(frozen=True)
class ClientIdentity:
    """Who the client is, without the key: an alias or a key fingerprint."""

    name: str = "anonymous"
    key_fingerprint: str | None = None


@dataclass(eq=False)
class Session:
    """One client session.

    :ivar id: ``sess_…``; appears in logs and log records.
    :ivar model: the model name the client asked for (a model group).
    :ivar dialect: ``"ga"`` or ``"beta"``: the client's dialect.  Translators
        never need it (they speak GA); it is here for logging.
    :ivar deployment: the deployment in use (set by the router, changes on
        failover before the session is usable).
    :ivar translator: the provider's translator (``create_translator`` result).
    :ivar state: free per-session storage for plugins, keyed by plugin name.
    :ivar ids: injected id factory (``ids("resp") -> "resp_…"``).
    :ivar clock: injected monotonic clock, seconds.
    :ivar options: global settings a translator may consult
        (``litellm_settings`` merged with rt's own, read-only).
    """

    id: str
    model: str
    dialect: str = "ga"
    client: ClientIdentity = field(default_factory=ClientIdentity)
    deployment: Deployment | None = None
    translator: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    ids: Callable[[str], str] = field(default_factory=IdFactory)
    clock: Callable[[], float] = monotonic
    options: dict[str, Any] = field(default_factory=dict)
    log: logging.LoggerAdapter = field(init=False, repr=False)  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        self.log = logging.LoggerAdapter(logging.getLogger("rt_core.session"), {"session_id": self.id})
