"""Every error rt raises on purpose, under one base class.

Each error knows what the client will see: an OpenAI-style ``error`` event
(``type``, ``code``, ``message``, ``param``, ``event_id``) and, when the session
must end, a WebSocket close code.  Library exceptions (websockets, pydantic,
provider SDKs) are mapped at the boundary with ``raise X(...) from exc`` so none
of them escapes the public API.

.. code-block:: text

    RtError
    ├── ConfigError                  bad config file / env reference (startup)
    ├── PluginError                  a plugin failed to load or misbehaved
    ├── ClientEventError             one bad client event; the session goes on
    │   └── UnsupportedEventError    rt understands the event but this provider cannot do it
    ├── UpstreamError                anything about the upstream connection
    │   ├── UpstreamConnectError     could not open the upstream (failover-able)
    │   └── UpstreamClosed           the upstream ended the connection
    └── SessionClosed                the session must end with a close code

Close codes used (RFC 6455 + IANA): 1000 normal, 1001 going away (shutdown),
1007 invalid payload, 1008 policy (auth), 1009 message too big, 1011 internal
error, 1013 try again later, 1014 bad gateway.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RtError",
    "ConfigError",
    "PluginError",
    "ClientEventError",
    "UnsupportedEventError",
    "UpstreamError",
    "UpstreamConnectError",
    "UpstreamClosed",
    "SessionClosed",
    "http_error_body",
]


class RtError(Exception):
    """Base class of every error rt raises deliberately."""


class ConfigError(RtError):
    """The configuration is invalid.  ``path`` names the offending key, e.g.
    ``model_list[2].litellm_params.api_base``."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class PluginError(RtError):
    """A plugin could not be loaded, or raised inside a hook.  The message
    names the plugin (and the session, when there is one)."""


class ClientEventError(RtError):
    """One client event was rejected.  The session stays open.

    The attributes map one to one onto the OpenAI ``error`` event.
    """

    error_type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_event",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.event_id = event_id

    def to_error(self) -> dict[str, Any]:
        """The ``error`` object of an OpenAI ``error`` server event."""
        return {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": self.event_id,
        }


class UnsupportedEventError(ClientEventError):
    """A well-formed event that this provider cannot carry out."""

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("code", "unsupported_event")
        super().__init__(message, **kw)


class UpstreamError(RtError):
    """Something went wrong with the upstream provider connection."""


class UpstreamConnectError(UpstreamError):
    """The upstream could not be opened.

    ``status`` is the HTTP status of a refused handshake (None for network
    errors and timeouts).  ``retryable`` tells the router whether another
    deployment may succeed where this one failed (it almost always may).
    The message must never contain a secret.
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class UpstreamClosed(UpstreamError):
    """The upstream connection ended; ``code``/``reason`` are its close frame."""

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__(f"upstream closed the connection (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class SessionClosed(RtError):
    """The session must end: send ``error`` (if given) then close with ``code``."""

    def __init__(self, code: int, reason: str, error: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.error = error


def http_error_body(message: str, code: str, type_: str = "invalid_request_error",
                    param: str | None = None) -> dict[str, Any]:
    """The JSON body of an HTTP refusal (a handshake rt will not upgrade, the
    shutting-down 503): OpenAI's error object under ``error``.  One shape for
    every refusal, whichever WebSocket layer sends it."""
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}
