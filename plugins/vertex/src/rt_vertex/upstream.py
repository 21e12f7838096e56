"""The Vertex AI Live upstream: rt-gemini's, with a fresh OAuth token per connection.

:class:`rt_gemini.GeminiUpstream` already moves a session between connections
(``goAway``, resumption, configuration changes).  Each of those connections
needs a Bearer token that is valid *when it opens*, possibly an hour or more
after the session started, so the token is not a fixed header here: every
socket fetches it from the deployment's :class:`~rt_vertex.auth.GoogleTokenSource`
(cached; refreshed in a worker thread) as the first step of its ``open()``.
A token that cannot be obtained fails that open with an
:class:`~rt_core.UpstreamConnectError` naming the deployment -- at session
start the router reports it (or fails over); on a reconnect rt-gemini reports
it as a failed reconnect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rt_core import UpstreamConnectError, WebSocketUpstream
from rt_gemini import GeminiUpstream

from .auth import GoogleTokenSource, VertexAuthError

__all__ = ["VertexUpstream"]


class _AuthorizedSocket(WebSocketUpstream):
    """One WebSocket whose handshake carries a token fetched just before it opens."""

    def __init__(self, url: str, *, auth: GoogleTokenSource, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._auth = auth

    async def open(self) -> None:
        try:
            self.headers.update(await self._auth.headers())
        except VertexAuthError as exc:
            raise UpstreamConnectError(f"{self.name}: {exc}") from None
        await super().open()


class VertexUpstream(GeminiUpstream):
    """A :class:`~rt_gemini.GeminiUpstream` authenticated with Google OAuth.

    :param auth: the deployment's token source; None for express mode (the API
        key is then in ``headers``).
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 auth: GoogleTokenSource | None = None, **kwargs: Any) -> None:
        super().__init__(url, headers=headers, **kwargs)
        self.auth = auth

    def _socket(self) -> WebSocketUpstream:
        if self.auth is None:
            return super()._socket()
        return _AuthorizedSocket(
            self.url,
            auth=self.auth,
            headers=self.headers,  # copied by WebSocketUpstream: the token never lands in self.headers
            ping_interval=self.ping_interval,
            ping_timeout=None,
            name=self.name,
            ssl=self.ssl,
        )
