"""A fake Google OAuth 2.0 token endpoint on loopback, for google-auth's real code.

It speaks what ``https://oauth2.googleapis.com/token`` speaks to google-auth:

* the **JWT-bearer grant** service accounts use
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``):
  the JWT's RS256 signature is verified with the public key registered for its
  issuer (``client_email``) and key id (``private_key_id``), and its claims are
  checked (``aud`` = this endpoint, ``scope`` present, ``iat``/``exp`` sane);
* the **refresh-token grant** authorized-user credentials use
  (``client_id``, ``client_secret``, ``refresh_token``);
* answers ``{"access_token": "ya29.fake-N", "expires_in": N, "token_type": "Bearer"}``,
  errors as HTTP 400 ``{"error": "invalid_grant", "error_description": …}``.

It runs in a thread (``http.server``), so it answers whether the caller blocks
the event loop (a direct ``credentials.refresh``) or not (rt's worker thread).
Tests control token lifetimes (:attr:`FakeOAuthServer.expires_in`), make the
endpoint fail (:attr:`FakeOAuthServer.fail_with`) or slow (:attr:`delay`),
read :attr:`grants` (what was asked, never a secret) and :attr:`rejected`, and
ask :meth:`FakeOAuthServer.is_valid` whether a Bearer token is one it issued
and still unexpired -- what the fake Vertex endpoint checks.

:func:`make_service_account` generates an RSA key with ``cryptography`` and
returns the service-account JSON a test writes to a file or passes inline.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_TOKEN = "refresh_token"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: The audience google-auth signs into service-account JWTs whatever the ``token_uri``.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
#: Clock skew the fake tolerates on ``iat`` (google-auth backdates nothing).
SKEW = 30


def _b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


_KEY_CACHE: list[rsa.RSAPrivateKey] = []


def rsa_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, generated once per test process (generation is slow-ish)."""
    if not _KEY_CACHE:
        _KEY_CACHE.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY_CACHE[0]


def make_service_account(
    token_uri: str,
    *,
    key: rsa.RSAPrivateKey | None = None,
    email: str = "rt-test@rt-test-project.iam.gserviceaccount.com",
    project_id: str | None = "rt-test-project",
    key_id: str = "0123456789abcdef0123456789abcdef01234567",
    **extra: Any,
) -> dict[str, Any]:
    """A service-account key file's JSON, with a real RSA private key."""
    key = key or rsa_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info: dict[str, Any] = {
        "type": "service_account",
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": "123456789012345678901",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    if project_id is not None:
        info["project_id"] = project_id
    info.update(extra)
    return info


@dataclass
class Issued:
    token: str
    expires_at: float
    subject: str  # the service account e-mail, or the OAuth client id


@dataclass
class FakeOAuthServer:
    """Scriptable token endpoint; use ``with FakeOAuthServer().running() as oauth:``."""

    #: Lifetime of the tokens it issues, seconds (Google's is 3599).
    expires_in: int = 3599
    #: Answer the next requests with (HTTP status, JSON body) instead; one per request.
    fail_with: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: Seconds to wait before answering (a slow endpoint).
    delay: float = 0.0
    #: Every grant received: ``{"grant_type", "subject", "scope"}`` -- never a secret.
    grants: list[dict[str, Any]] = field(default_factory=list)
    #: Requests refused, with the reason (bad signature, wrong audience …).
    rejected: list[str] = field(default_factory=list)
    port: int = 0
    _keys: dict[tuple[str, str], Any] = field(default_factory=dict)
    _clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    _issued: dict[str, Issued] = field(default_factory=dict)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ set-up

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def register_service_account(self, info: dict[str, Any]) -> None:
        """Trust the public key of a service-account JSON (from :func:`make_service_account`)."""
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        self._keys[(info["client_email"], info["private_key_id"])] = key.public_key()  # type: ignore[union-attr]

    def service_account(self, **kwargs: Any) -> dict[str, Any]:
        """A new service-account JSON pointing at this endpoint, already trusted."""
        info = make_service_account(self.token_uri, **kwargs)
        self.register_service_account(info)
        return info

    def authorized_user(self, *, client_id: str = "rt-client.apps.googleusercontent.com",
                        client_secret: str = "rt-client-secret-value", refresh_token: str = "1//rt-refresh-token-value",
                        **extra: Any) -> dict[str, Any]:
        """An authorized-user JSON (what ``gcloud auth application-default login`` writes)."""
        self._clients[client_id] = (client_secret, refresh_token)
        return {"type": "authorized_user", "client_id": client_id, "client_secret": client_secret,
                "refresh_token": refresh_token, "token_uri": self.token_uri, **extra}

    # ------------------------------------------------------------------ checks for tests

    def is_valid(self, token: str | None) -> bool:
        """A token this endpoint issued that has not expired."""
        if not token:
            return False
        with self._lock:
            issued = self._issued.get(token)
        return issued is not None and time.time() < issued.expires_at

    @property
    def issued(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    # ------------------------------------------------------------------ server

    @contextmanager
    def running(self) -> Iterator[FakeOAuthServer]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                status, payload = fake._answer(self.path, self.headers.get("Content-Type", ""), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    def _answer(self, path: str, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        if self.delay:
            time.sleep(self.delay)
        if path.split("?")[0] != "/token":
            return 404, {"error": "not_found"}
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return self._reject(f"content type {content_type!r}", "invalid_request", "Bad content type.")
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        grant = form.get("grant_type")
        with self._lock:
            failure = self.fail_with.pop(0) if self.fail_with else None
        if grant == JWT_BEARER:
            subject, scope, error = self._check_assertion(form.get("assertion", ""))
        elif grant == REFRESH_TOKEN:
            subject, scope, error = self._check_refresh(form)
        else:
            return self._reject(f"grant_type {grant!r}", "unsupported_grant_type", "Invalid grant_type.")
        self.grants.append({"grant_type": grant, "subject": subject, "scope": scope})
        if error is not None:
            return self._reject(error, "invalid_grant", error)
        if failure is not None:
            return failure
        with self._lock:
            self._counter += 1
            token = f"ya29.fake-{self._counter}"
            self._issued[token] = Issued(token, time.time() + self.expires_in, subject or "")
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def _reject(self, why: str, error: str, description: str) -> tuple[int, dict[str, Any]]:
        self.rejected.append(why)
        return 400, {"error": error, "error_description": description}

    def _check_assertion(self, assertion: str) -> tuple[str | None, str | None, str | None]:
        """Verify a service account's signed JWT; returns (subject, scope, error)."""
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(sig_b64)
        except ValueError:
            return None, None, "Malformed JWT."
        iss = claims.get("iss")
        scope = claims.get("scope")
        if header.get("alg") != "RS256":
            return iss, scope, f"Unsupported JWT alg {header.get('alg')!r}."
        key = self._keys.get((iss, header.get("kid")))
        if key is None:
            return iss, scope, "Invalid grant: account not found or key id unknown."
        try:
            key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return iss, scope, "Invalid JWT Signature."
        now = time.time()
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            return iss, scope, f"Invalid JWT audience {claims.get('aud')!r}."
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + SKEW or exp < now or exp - iat > 3600:
            return iss, scope, "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        if not scope:
            return iss, scope, "Invalid JWT: no scope requested."
        return iss, scope, None

    def _check_refresh(self, form: dict[str, str]) -> tuple[str | None, str | None, str | None]:
        client_id = form.get("client_id")
        known = self._clients.get(client_id or "")
        scope = form.get("scope")
        if known is None or known[0] != form.get("client_secret"):
            return client_id, scope, "The OAuth client was not found."
        if known[1] != form.get("refresh_token"):
            return client_id, scope, "Token has been expired or revoked."
        return client_id, scope, None
