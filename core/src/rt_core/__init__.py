"""rt-core: the public API plugins build on.

Plugins import only what this module exports.
"""

from __future__ import annotations

from .deployment import Deployment, DeploymentSettings, ProviderSpec, key_fingerprint
from .errors import (
    ClientEventError,
    ConfigError,
    PluginError,
    RtError,
    SessionClosed,
    UnsupportedEventError,
    UpstreamClosed,
    UpstreamConnectError,
    UpstreamError,
)
from .events import (
    Action,
    Close,
    Event,
    IdFactory,
    Schedule,
    Signal,
    TimerFired,
    ToClient,
    ToUpstream,
    UpstreamLost,
    UpstreamOpened,
    dumps,
    error_event,
    error_object,
    peek_type,
)
from .hookspecs import hookimpl, hookspec
from .logrecord import LogRecord
from .session import ClientIdentity, Session
from .translator import Translator
from .upstream import Upstream, WebSocketUpstream, websocket_url

__version__ = "0.1.0"

__all__ = [
    "Action", "ClientEventError", "ClientIdentity", "Close", "ConfigError", "Deployment",
    "DeploymentSettings", "Event", "IdFactory", "LogRecord", "PluginError", "ProviderSpec",
    "RtError", "Schedule", "Session", "SessionClosed", "Signal", "TimerFired", "ToClient",
    "ToUpstream", "Translator", "UnsupportedEventError", "Upstream", "UpstreamClosed",
    "UpstreamConnectError", "UpstreamError", "UpstreamLost", "UpstreamOpened",
    "WebSocketUpstream", "dumps", "error_event", "error_object", "hookimpl", "hookspec", "key_fingerprint",
    "peek_type", "websocket_url",
]
