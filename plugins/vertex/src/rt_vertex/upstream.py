"""The Vertex AI Live upstream: rt-gemini's, with a fresh OAuth token per connection.

:class:`rt_gemini.GeminiUpstream` already moves a session between connections
(``goAway``, resumption, configuration changes).  Each of those connections
needs a Bearer token that is valid *when it opens*, possibly an hour or more
after the session started, so the token is not a fixed header here: rt-gemini
awaits :meth:`~rt_gemini.GeminiUpstream.refresh_headers` before every
connection, and this class fetches the token there from the deployment's
:class:`~rt_vertex.auth.GoogleTokenSource` (cached; refreshed in a worker
thread).  A token that cannot be obtained fails that connection with an
:class:`~rt_core.UpstreamConnectError` naming the deployment -- at session
start the router reports it (or fails over); on a reconnect the client is told
that rt could not reconnect, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rt_core import UpstreamConnectError
from rt_gemini import GeminiUpstream

from .auth import GoogleTokenSource, VertexAuthError

__all__ = ["VertexUpstream"]


class VertexUpstream(GeminiUpstream):
    """A :class:`~rt_gemini.GeminiUpstream` authenticated with Google OAuth.

    :param auth: the deployment's token source; None for express mode (the API
        key is then in ``headers``).
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 auth: GoogleTokenSource | None = None, **kwargs: Any) -> None:
        super().__init__(url, headers=headers, **kwargs)
        self.auth = auth

    async def refresh_headers(self) -> None:
        """Put a currently valid ``Authorization: Bearer`` token (and the quota
        project, if any) in :attr:`headers` before each connection opens."""
        if self.auth is None:
            return
        try:
            self.headers.update(await self.auth.headers())
        except VertexAuthError as exc:
            raise UpstreamConnectError(f"{self.name}: {exc}") from None
