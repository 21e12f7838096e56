"""The Azure upstream: core's WebSocket upstream plus an Entra token fetched at open.

The token is fetched inside ``open()`` -- which the core awaits under the
deployment's connect timeout -- because hooks must not do I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rt_core import UpstreamConnectError, WebSocketUpstream

__all__ = ["AzureUpstream"]


class AzureUpstream(WebSocketUpstream):
    """:class:`~rt_core.WebSocketUpstream` that may add ``Authorization:
    Bearer <token>`` from ``token_provider`` just before the handshake."""

    def __init__(
        self,
        url: str,
        *,
        token_provider: Callable[[], Awaitable[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(url, **kwargs)
        self.token_provider = token_provider

    async def open(self) -> None:
        if self.token_provider is not None:
            try:
                token = await self.token_provider()
            except UpstreamConnectError:
                raise
            except Exception as exc:  # azure-identity's errors name the tenant and AADSTS code, not secrets
                raise UpstreamConnectError(
                    f"{self.name}: could not get an Entra ID token: {type(exc).__name__}: {exc}"
                ) from None
            self.headers.pop("api-key", None)  # never both
            self.headers["Authorization"] = f"Bearer {token}"
        await super().open()
