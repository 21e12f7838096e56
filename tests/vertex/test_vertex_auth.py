"""Google OAuth for Vertex: google-auth's real code against the fake token endpoint.

The service account's RSA key is generated here, so google-auth really signs
the JWT and the fake really verifies it; tokens are cached, refreshed before
they expire, fetched once for concurrent callers, and every failure is a
:class:`VertexAuthError` that says what failed without any secret.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from rt_vertex.auth import REFRESH_MARGIN, GoogleTokenSource, VertexAuthError, parse_credentials
from tests.fakes.oauth_token import CLOUD_PLATFORM_SCOPE, JWT_BEARER, REFRESH_TOKEN, FakeOAuthServer

pytestmark = pytest.mark.anyio


class Clock:
    """Wall clock that tests can move forward (expiry is wall-clock time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def assert_no_secret(message: str, info: dict[str, Any]) -> None:
    assert "PRIVATE KEY" not in message and "ya29." not in message
    for field in ("private_key", "private_key_id", "client_secret", "refresh_token"):
        if info.get(field):
            assert info[field] not in message


def test_parse_credentials_forms(service_account: dict[str, Any], sa_file: Path) -> None:
    assert parse_credentials(None).is_adc
    assert parse_credentials("  ").is_adc
    assert parse_credentials(str(sa_file)).info == service_account
    assert parse_credentials(json.dumps(service_account)).origin == "inline JSON"
    assert parse_credentials(service_account).project_id == "rt-test-project"
    assert "PRIVATE" not in repr(parse_credentials(service_account))


async def test_service_account_token_is_fetched_once_and_cached(
        oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    source = GoogleTokenSource.from_value(service_account)
    first = await source.token()
    assert await source.token() == first
    assert oauth.is_valid(first)
    assert source.refreshes == 1
    [grant] = oauth.grants
    assert grant == {"grant_type": JWT_BEARER, "subject": service_account["client_email"],
                     "scope": CLOUD_PLATFORM_SCOPE}
    assert await source.headers() == {"Authorization": f"Bearer {first}"}  # no quota project: no x-goog-user-project


async def test_token_is_refreshed_five_minutes_before_expiry(
        oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    clock = Clock()
    source = GoogleTokenSource.from_value(service_account, clock=clock)
    first = await source.token()
    clock.offset = oauth.expires_in - REFRESH_MARGIN - 30  # still 5.5 minutes left
    assert await source.token() == first
    clock.offset = oauth.expires_in - REFRESH_MARGIN + 5  # under 5 minutes left
    second = await source.token()
    assert second != first and oauth.is_valid(second)
    assert source.refreshes == 2 and len(oauth.grants) == 2


async def test_short_lived_tokens_are_refreshed_at_half_life(
        oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.expires_in = 2
    source = GoogleTokenSource.from_value(service_account)
    first = await source.token()
    assert await source.token() == first
    await anyio.sleep(1.1)
    assert await source.token() != first


async def test_concurrent_callers_share_one_refresh(oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.delay = 0.3
    source = GoogleTokenSource.from_value(service_account)
    tokens: list[str] = []

    async def get() -> None:
        tokens.append(await source.token())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(get)
    assert len(set(tokens)) == 1 and len(tokens) == 12
    assert len(oauth.grants) == 1


async def test_event_loop_keeps_running_during_a_slow_refresh(
        oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.delay = 0.5
    source = GoogleTokenSource.from_value(service_account)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.02)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await source.token()
        tg.cancel_scope.cancel()
    assert ticks >= 10  # the loop ran while the token request waited 0.5 s


async def test_a_cancelled_refresh_is_not_repeated(oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.delay = 0.4
    source = GoogleTokenSource.from_value(service_account)
    with anyio.move_on_after(0.1) as scope:
        await source.token()
    assert scope.cancelled_caught
    token = await source.token()  # waits for the abandoned refresh instead of starting another
    assert oauth.is_valid(token)
    assert len(oauth.grants) == 1


async def test_refused_grant_is_a_clear_error_without_secrets(
        oauth: FakeOAuthServer, service_account: dict[str, Any]) -> None:
    oauth.fail_with.append((400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}))
    source = GoogleTokenSource.from_value(service_account)
    with pytest.raises(VertexAuthError) as err:
        await source.token()
    message = str(err.value)
    assert "invalid_grant: Invalid JWT Signature." in message
    assert "service_account" in message and "inline JSON" in message
    assert_no_secret(message, service_account)
    assert oauth.is_valid(await source.token())  # the next attempt succeeds


async def test_unknown_service_account_key_is_refused_by_the_endpoint(
        oauth: FakeOAuthServer, tmp_path: Path) -> None:
    from tests.fakes.oauth_token import make_service_account

    stranger = make_service_account(oauth.token_uri, email="stranger@x.iam.gserviceaccount.com")
    path = tmp_path / "stranger.json"
    path.write_text(json.dumps(stranger))
    source = GoogleTokenSource.from_value(str(path))
    with pytest.raises(VertexAuthError) as err:
        await source.token()
    assert "invalid_grant" in str(err.value) and f"file {path}" in str(err.value)
    assert_no_secret(str(err.value), stranger)
    assert oauth.rejected


async def test_authorized_user_with_quota_project(oauth: FakeOAuthServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # google-auth ignores an authorized-user file's token_uri (always Google's);
    # point that constant at the fake so its real refresh-token code runs here.
    import google.oauth2.credentials

    monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", oauth.token_uri)
    info = oauth.authorized_user(quota_project_id="billing-proj")
    source = GoogleTokenSource.from_value(info)
    headers = await source.headers()
    assert headers["x-goog-user-project"] == "billing-proj"
    assert oauth.is_valid(headers["Authorization"].removeprefix("Bearer "))
    assert oauth.grants[0]["grant_type"] == REFRESH_TOKEN
    revoked = oauth.authorized_user(client_id="other.apps.googleusercontent.com", refresh_token="1//other-refresh")
    revoked["refresh_token"] = "1//revoked-refresh-token"
    with pytest.raises(VertexAuthError) as err:
        await GoogleTokenSource.from_value(revoked).token()
    assert "expired or revoked" in str(err.value)
    assert_no_secret(str(err.value), revoked)


async def test_service_account_quota_project_field_is_honoured(oauth: FakeOAuthServer) -> None:
    info = oauth.service_account(quota_project_id="quota-proj")
    assert (await GoogleTokenSource.from_value(info).headers())["x-goog-user-project"] == "quota-proj"


async def test_application_default_credentials(oauth: FakeOAuthServer, sa_file: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    source = GoogleTokenSource.from_value(None)
    with pytest.raises(VertexAuthError, match="Application Default Credentials are not available"):
        await source.token()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa_file))
    source = GoogleTokenSource.from_value(None)
    assert source.project_id is None  # ADC is resolved on first use, off the event loop
    assert oauth.is_valid(await source.token())
    assert source.project_id == "rt-test-project"


async def test_unreachable_token_endpoint(service_account: dict[str, Any]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    info = dict(service_account, token_uri=f"http://127.0.0.1:{port}/token")
    with anyio.fail_after(20), pytest.raises(VertexAuthError) as err:
        await GoogleTokenSource.from_value(info).token()
    assert "cannot get a Google access token" in str(err.value)
    assert_no_secret(str(err.value), info)
