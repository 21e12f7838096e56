"""Entra ID client credentials: the token is fetched at open, cached, and sent alone.

azure-identity itself is an optional extra and is not needed here: the
credential is a stand-in with azure-identity's ``get_token`` shape, while
the upstream opens a real WebSocket to the fake Azure resource.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from rt_azure.entra import REFRESH_MARGIN, EntraTokenProvider
from rt_azure.upstream import AzureUpstream
from rt_core import UpstreamConnectError
from tests.fakes.azure_realtime import FakeAzure

pytestmark = pytest.mark.anyio


@dataclass
class AccessToken:
    token: str
    expires_on: int


class StandInCredential:
    """Counts calls and records the thread it was called on."""

    def __init__(self, expires_on: int = 10_000, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.threads: list[int] = []
        self.expires_on = expires_on
        self.fail = fail

    def get_token(self, scope: str) -> AccessToken:
        self.calls.append(scope)
        self.threads.append(threading.get_ident())
        if self.fail:
            raise RuntimeError("AADSTS7000215: Invalid client secret provided.")
        return AccessToken(f"token-{len(self.calls)}", self.expires_on)


def provider(cred: StandInCredential, now: list[float]) -> EntraTokenProvider:
    made: list[tuple[str, str, str]] = []

    def factory(tenant: str, client: str, secret: str) -> Any:
        made.append((tenant, client, secret))
        return cred

    p = EntraTokenProvider("tenant-1", "client-1", SecretStr("s3cret"), "https://cognitiveservices.azure.com/.default",
                           credential_factory=factory, clock=lambda: now[0])
    p.made = made  # type: ignore[attr-defined]
    return p


async def test_token_sent_as_bearer_and_cached_until_near_expiry() -> None:
    fake = FakeAzure(api_key=None, bearer_token="token-1")
    cred = StandInCredential(expires_on=10_000)
    now = [1_000.0]
    tokens = provider(cred, now)
    async with fake.running():
        url = f"ws://127.0.0.1:{fake.port}/openai/v1/realtime?model=gpt-realtime-dep"
        for _ in range(2):
            up = AzureUpstream(url, headers={}, token_provider=tokens, name="azure/test")
            await up.open()
            first = json.loads(await up.receive())
            assert first["type"] == "session.created"
            await up.aclose()
    assert cred.calls == ["https://cognitiveservices.azure.com/.default"]  # fetched once, reused
    assert cred.threads[0] != threading.get_ident()  # off the event loop's thread
    assert tokens.made == [("tenant-1", "client-1", "s3cret")]  # type: ignore[attr-defined]
    for c in fake.connections:
        assert c.headers.get("Authorization") == "Bearer token-1"
        assert "api-key" not in {k.lower() for k in c.headers}
    now[0] = 10_000 - REFRESH_MARGIN + 1  # inside the refresh margin: fetch again
    assert await tokens() == "token-2"


async def test_bearer_replaces_any_api_key_header() -> None:
    fake = FakeAzure(api_key="azure-key", bearer_token="token-1")
    tokens = provider(StandInCredential(), [0.0])
    async with fake.running():
        up = AzureUpstream(f"ws://127.0.0.1:{fake.port}/openai/v1/realtime?model=gpt-realtime-dep",
                           headers={"api-key": "azure-key"}, token_provider=tokens, name="azure/test")
        await up.open()  # the fake refuses requests carrying both
        await up.aclose()
    assert fake.refusals == []


async def test_token_failure_is_a_connect_error_without_secrets() -> None:
    tokens = provider(StandInCredential(fail=True), [0.0])
    up = AzureUpstream("ws://127.0.0.1:9/openai/v1/realtime?model=d", headers={}, token_provider=tokens,
                       name="azure/test")
    with pytest.raises(UpstreamConnectError) as info:
        await up.open()
    assert "could not get an Entra ID token" in info.value.message
    assert "AADSTS7000215" in info.value.message
    assert "s3cret" not in info.value.message
    assert "s3cret" not in repr(tokens)
