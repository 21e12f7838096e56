"""Google Cloud credentials and OAuth access tokens for Vertex AI.

Vertex AI takes ``Authorization: Bearer <access token>``, where the token is
minted by google-auth from a service account (a JWT signed with its key and
exchanged at its ``token_uri``), from authorized-user credentials (a refresh
token), or from Application Default Credentials (ADC).  This module keeps that
out of the event loop and out of every session's way:

* :func:`parse_credentials` reads ``vertex_credentials`` -- a path to a JSON
  file, the JSON inline (a string or a YAML mapping), or nothing (ADC) -- and
  :func:`load_credentials` builds the google-auth credentials object.  Both
  are local (no network), so a broken credential is reported when the config
  is loaded (``rt-core check``), with the config path of the deployment.
* :class:`GoogleTokenSource` caches the access token of one deployment and
  refreshes it in a worker thread when less than five minutes (or half its
  lifetime, for short-lived tokens) remain.  An :class:`anyio.Lock` makes
  concurrent sessions wait for one refresh instead of starting many, and a
  thread lock keeps an abandoned refresh (its session was cancelled) from
  racing the next one.  ADC is resolved on first use, in that thread too
  (it may ask the GCE metadata server).
* Every error is a :class:`VertexAuthError` whose message says what failed and
  never contains key material (private keys, client secrets, refresh tokens,
  access tokens).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

__all__ = [
    "CLOUD_PLATFORM_SCOPE", "REFRESH_MARGIN", "CredentialSource", "GoogleTokenSource", "VertexAuthError",
    "load_credentials", "parse_credentials",
]

log = logging.getLogger(__name__)

#: The scope Vertex AI needs (what google-genai asks for, too).
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Refresh a cached token when less than this many seconds remain ...
REFRESH_MARGIN = 300.0
#: ... or less than this fraction of its lifetime, whichever is sooner to reach.
REFRESH_FRACTION = 0.5
#: Seconds allowed for one HTTP request to the token endpoint (google-auth's default is 120).
TOKEN_REQUEST_TIMEOUT = 30.0

#: Credential types google-auth can load (the ``type`` field of the JSON).
KNOWN_TYPES = ("service_account", "authorized_user", "external_account", "external_account_authorized_user",
               "impersonated_service_account", "gdch_service_account")

#: Credential-file fields whose values must never appear in a message.
_SECRET_FIELDS = ("private_key", "private_key_id", "client_secret", "refresh_token", "access_token")


class VertexAuthError(Exception):
    """Credentials could not be loaded, or no access token could be obtained.

    The message is safe to show: it never contains key material.
    """


@dataclass(frozen=True)
class CredentialSource:
    """Where a deployment's credentials come from.

    :ivar info: the parsed credential JSON, or None for Application Default Credentials.
    :ivar origin: a safe description for messages (``file /path/sa.json``,
        ``inline JSON``, ``application default credentials``).
    """

    info: dict[str, Any] | None
    origin: str

    @property
    def is_adc(self) -> bool:
        return self.info is None

    @property
    def kind(self) -> str:
        """The credential ``type`` (``service_account``, ``authorized_user`` …) or ``adc``."""
        return "adc" if self.info is None else str(self.info.get("type"))

    @property
    def project_id(self) -> str | None:
        """The project the credential file names (service accounts do), if any."""
        if self.info is None:
            return None
        p = self.info.get("project_id")
        return p if isinstance(p, str) and p else None

    def secrets(self) -> list[str]:
        """The secret values of the file, to keep them out of messages."""
        if self.info is None:
            return []
        return [v for k in _SECRET_FIELDS if isinstance(v := self.info.get(k), str) and len(v) >= 8]

    def __repr__(self) -> str:  # never the key
        return f"CredentialSource({self.kind}, {self.origin})"


def parse_credentials(value: str | Mapping[str, Any] | None) -> CredentialSource:
    """Interpret a ``vertex_credentials`` value (``os.environ/…`` is already resolved).

    * None or empty: Application Default Credentials;
    * a mapping, or a string starting with ``{``: the credential JSON itself;
    * any other string: the path of a credential JSON file (``~`` expanded).

    :raises VertexAuthError: unreadable file, invalid JSON, or no ``type`` field.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return CredentialSource(None, "application default credentials")
    if isinstance(value, Mapping):
        info: Any = dict(value)
        origin = "inline JSON"
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            origin = "inline JSON"
            try:
                info = json.loads(text)
            except ValueError as exc:
                # JSONDecodeError's message is a position ("line 1 column 5"), never the content.
                raise VertexAuthError(f"vertex_credentials is not valid JSON ({_json_position(exc)})") from None
        else:
            path = Path(text).expanduser()
            origin = f"file {path}"
            try:
                raw = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise VertexAuthError(f"vertex_credentials: the file {path} does not exist") from None
            except OSError as exc:
                raise VertexAuthError(f"vertex_credentials: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
            try:
                info = json.loads(raw)
            except ValueError as exc:
                raise VertexAuthError(f"vertex_credentials: {path} is not valid JSON ({_json_position(exc)})") from None
    else:
        raise VertexAuthError(
            f"vertex_credentials must be a file path, a JSON string or a mapping, not {type(value).__name__}")
    if not isinstance(info, dict):
        raise VertexAuthError(f"vertex_credentials ({origin}) must be a JSON object")
    kind = info.get("type")
    if not isinstance(kind, str) or not kind:
        raise VertexAuthError(
            f"vertex_credentials ({origin}) has no 'type' field; expected a Google credential file "
            "such as a service-account key (\"type\": \"service_account\")")
    return CredentialSource(info, origin)


def _json_position(exc: ValueError) -> str:
    lineno, colno = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    return f"line {lineno} column {colno}" if lineno is not None else "malformed"


def safe_reason(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """A one-line description of ``exc`` for messages, with secrets held back.

    google-auth puts the token endpoint's error (``invalid_grant: Invalid JWT
    Signature.``) first in ``args``; that is what users need.  When the text
    contains any known secret value (or looks like a PEM key), only the
    exception type is given.
    """
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = " ".join(first.split())
    if not text:
        return type(exc).__name__
    if "-----BEGIN" in text or "ya29." in text or any(s in text for s in secrets):
        return type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def load_credentials(source: CredentialSource) -> Any:
    """Build google-auth credentials (scoped for Vertex) from explicit credential JSON.

    Local only: parses the JSON and the private key, no network.  A
    ``quota_project_id`` in the file is honoured for every credential type.

    :raises VertexAuthError: the JSON is not a usable credential.
    """
    info = source.info
    if info is None:
        raise ValueError("load_credentials needs explicit credentials; ADC is loaded by GoogleTokenSource")
    kind = source.kind
    if kind not in KNOWN_TYPES:
        raise VertexAuthError(
            f"vertex_credentials ({source.origin}): unsupported credential type {kind!r}; expected one of "
            + ", ".join(KNOWN_TYPES))
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            creds: Any = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[CLOUD_PLATFORM_SCOPE])
        elif kind == "authorized_user":
            from google.oauth2 import credentials as user_credentials

            creds = user_credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
                info, scopes=[CLOUD_PLATFORM_SCOPE])
        else:
            # external_account, impersonated_service_account, …: google-auth's
            # generic loader.  It warns that configs from untrusted sources must
            # be validated; this one is the operator's own config file.
            import google.auth

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                creds, _project = google.auth.load_credentials_from_dict(  # type: ignore[no-untyped-call]
                    info, scopes=[CLOUD_PLATFORM_SCOPE])
    except Exception as exc:  # google-auth raises ValueError, KeyError, DefaultCredentialsError, crypto errors …
        raise VertexAuthError(
            f"vertex_credentials ({source.origin}): cannot load the {kind} credentials: "
            f"{safe_reason(exc, source.secrets())}") from None
    quota = info.get("quota_project_id")
    if isinstance(quota, str) and quota and not getattr(creds, "quota_project_id", None) \
            and hasattr(creds, "with_quota_project"):
        creds = creds.with_quota_project(quota)
    return creds


def _load_adc() -> tuple[Any, str | None]:
    """Application Default Credentials (blocking: may probe the metadata server)."""
    import google.auth
    from google.auth.exceptions import GoogleAuthError

    try:
        return google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except GoogleAuthError as exc:
        raise VertexAuthError(
            "no vertex_credentials configured and Application Default Credentials are not available: "
            f"{safe_reason(exc)}") from None


class _TimeoutRequest:
    """google-auth's requests transport with a bounded timeout on every call."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        return self._inner(url, method=method, body=body, headers=headers, timeout=timeout or self._timeout, **kwargs)


def _utc_seconds(expiry: _dt.datetime | None) -> float | None:
    """google-auth's ``expiry`` (naive UTC, or aware) as a Unix time."""
    if expiry is None:
        return None
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=_dt.timezone.utc)
    return expiry.timestamp()


class GoogleTokenSource:
    """Access tokens for one deployment: cached, refreshed off the event loop.

    :param source: where the credentials come from.
    :param credentials: already loaded credentials (explicit sources); None
        loads them on first use (ADC) -- or from ``source`` when explicit.
    :param clock: wall clock in seconds (token expiry is wall-clock time).
    :param request_timeout: seconds for each token-endpoint request.
    """

    def __init__(
        self,
        source: CredentialSource,
        *,
        credentials: Any = None,
        clock: Callable[[], float] = time.time,
        request_timeout: float = TOKEN_REQUEST_TIMEOUT,
    ) -> None:
        self.source = source
        self._credentials = credentials
        self._adc_project: str | None = None
        self._clock = clock
        self._request_timeout = request_timeout
        #: (token, refresh at): replaced as a whole, so readers never see half an update.
        self._cached: tuple[str, float] | None = None
        self._lock: anyio.Lock | None = None
        self._thread_lock = threading.Lock()
        #: Tokens fetched so far (for tests and logs).
        self.refreshes = 0

    @classmethod
    def from_value(cls, value: str | Mapping[str, Any] | None, **kwargs: Any) -> GoogleTokenSource:
        """Parse and (for explicit credentials) load now; raises :class:`VertexAuthError`."""
        source = parse_credentials(value)
        creds = None if source.is_adc else load_credentials(source)
        return cls(source, credentials=creds, **kwargs)

    def __repr__(self) -> str:  # never the key or the token
        return f"GoogleTokenSource({self.source.origin})"

    # ------------------------------------------------------------------ what the credentials say

    @property
    def project_id(self) -> str | None:
        """The project named by the credentials (file, or ADC once loaded)."""
        return self.source.project_id or self._adc_project

    @property
    def quota_project_id(self) -> str | None:
        """The quota project the credentials carry (sent as ``x-goog-user-project``)."""
        creds = self._credentials
        q = getattr(creds, "quota_project_id", None) if creds is not None else None
        return q if isinstance(q, str) and q else None

    # ------------------------------------------------------------------ tokens

    def _fresh(self) -> str | None:
        cached = self._cached
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        return None

    async def token(self) -> str:
        """A valid access token (cached, or fetched in a worker thread).

        :raises VertexAuthError: the credentials could not be loaded or refreshed.
        """
        token = self._fresh()
        if token is not None:
            return token
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # one refresh at a time; the waiters reuse its token
            token = self._fresh()
            if token is not None:
                return token
            # abandon_on_cancel: a session whose connect timed out stops waiting;
            # the thread finishes (bounded by the request timeout) and caches its token.
            return await anyio.to_thread.run_sync(self._refresh_blocking, abandon_on_cancel=True)

    async def headers(self) -> dict[str, str]:
        """``Authorization`` (and ``x-goog-user-project`` when the credentials carry a quota project)."""
        token = await self.token()
        headers = {"Authorization": f"Bearer {token}"}
        quota = self.quota_project_id
        if quota:
            headers["x-goog-user-project"] = quota
        return headers

    def _refresh_blocking(self) -> str:
        """Fetch a token (worker thread).  Serialised by a thread lock."""
        import requests
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        with self._thread_lock:
            token = self._fresh()
            if token is not None:  # an abandoned refresh finished meanwhile
                return token
            creds = self._credentials
            if creds is None:
                if self.source.is_adc:
                    creds, project = _load_adc()
                    self._adc_project = project if isinstance(project, str) and project else None
                else:
                    creds = load_credentials(self.source)
                self._credentials = creds
            try:
                with requests.Session() as session:
                    creds.refresh(_TimeoutRequest(Request(session), self._request_timeout))
            except GoogleAuthError as exc:
                raise VertexAuthError(
                    f"cannot get a Google access token from the {self.source.kind} credentials "
                    f"({self.source.origin}): {safe_reason(exc, self.source.secrets())}") from None
            except Exception as exc:  # transport or library errors we did not foresee
                log.debug("token refresh failed", exc_info=True)
                raise VertexAuthError(
                    f"cannot get a Google access token from the {self.source.kind} credentials "
                    f"({self.source.origin}): {type(exc).__name__}") from None
            token = creds.token
            if not isinstance(token, str) or not token:
                raise VertexAuthError(f"the {self.source.kind} credentials ({self.source.origin}) returned no access token")
            now = self._clock()
            expires_at = _utc_seconds(getattr(creds, "expiry", None))
            if expires_at is None:
                refresh_at = float("inf")
            else:
                lifetime = max(0.0, expires_at - now)
                refresh_at = expires_at - min(REFRESH_MARGIN, lifetime * REFRESH_FRACTION)
            self._cached = (token, refresh_at)
            self.refreshes += 1
            log.debug("fetched a Google access token (%s); refresh in %.0f s", self.source.origin, refresh_at - now)
            return token


def project_from_environment(env: Mapping[str, str] = os.environ) -> str | None:
    """The project LiteLLM and Google's tools read from the environment, if set."""
    for name in ("VERTEXAI_PROJECT", "VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        v = env.get(name)
        if v:
            return v
    path = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path:  # ADC from a key file: its project, read locally
        try:
            info = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        p = info.get("project_id") if isinstance(info, dict) else None
        return p if isinstance(p, str) and p else None
    return None
