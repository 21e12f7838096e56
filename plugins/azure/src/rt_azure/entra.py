"""Entra ID (Azure AD) tokens from client credentials, without blocking the loop.

``azure-identity`` is an optional extra (``pip install 'rt-azure[entra]'``).
Its synchronous ``ClientSecretCredential`` is used from a worker thread
(the async variant would pull in aiohttp as well); the token is cached here
until five minutes before it expires, so most sessions never leave the event
loop for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
from pydantic import SecretStr

from rt_core import UpstreamConnectError

__all__ = ["EntraTokenProvider"]

#: Refresh a cached token this many seconds before it expires.
REFRESH_MARGIN = 300.0


def _client_secret_credential(tenant_id: str, client_id: str, client_secret: str) -> Any:
    try:
        from azure.identity import ClientSecretCredential  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UpstreamConnectError(
            "Entra ID client credentials need the azure-identity package: pip install 'rt-azure[entra]'",
            retryable=False,
        ) from None
    return ClientSecretCredential(tenant_id, client_id, client_secret)


class EntraTokenProvider:
    """An async callable returning a bearer token for ``scope``.

    :param credential_factory: builds the credential object (anything with
        azure-identity's ``get_token(scope) -> AccessToken`` method); the
        default is azure-identity's ``ClientSecretCredential``.
    :param clock: wall clock in seconds (token expiry is wall-clock time).
    """

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str,
        *,
        credential_factory: Callable[[str, str, str], Any] = _client_secret_credential,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._factory = credential_factory
        self._clock = clock
        self._credential: Any = None
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: anyio.Lock | None = None

    def __repr__(self) -> str:  # never shows the secret or the token
        return f"EntraTokenProvider(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, scope={self.scope!r})"

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_on - REFRESH_MARGIN:
            return self._token
        return None

    async def __call__(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # one fetch at a time; the others reuse its token
            token = self._fresh()
            if token is not None:
                return token
            if self._credential is None:
                self._credential = self._factory(self.tenant_id, self.client_id, self._secret.get_secret_value())
            access = await anyio.to_thread.run_sync(self._credential.get_token, self.scope)
            self._token = str(access.token)
            self._expires_on = float(access.expires_on)
            return self._token
