"""Gemini Live (AI Studio) deployment settings and how to reach the service.

No protocol logic here: this module validates ``litellm_params`` and builds the
WebSocket URL, the handshake headers and the :class:`~rt_gemini.upstream.GeminiUpstream`.
rt-vertex reuses the translator and upstream and supplies its own URL, headers
(a Bearer token) and model resource name instead of this module's.

Config (``litellm_params``)::

    model: gemini/gemini-live-2.5-flash-preview
    api_key: os.environ/GEMINI_API_KEY      # sent as the x-goog-api-key header
    api_base: https://generativelanguage.googleapis.com   # optional; http(s)/ws(s)
    api_version: v1beta                     # v1beta (default), v1alpha or v1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator

from rt_core import Deployment, DeploymentSettings, websocket_url

from .upstream import GeminiUpstream

__all__ = [
    "GeminiSettings", "DEFAULT_API_BASE", "live_path", "live_url", "live_headers", "wire_model",
    "connect", "env_defaults",
]

DEFAULT_API_BASE = "wss://generativelanguage.googleapis.com"
_VERSIONS = ("v1beta", "v1alpha", "v1")
#: Ephemeral tokens minted with ``client.auth_tokens.create`` look like this.
EPHEMERAL_PREFIX = "auth_tokens/"


class GeminiSettings(DeploymentSettings):
    """``litellm_params`` for ``gemini/…`` deployments."""

    api_version: Literal["v1beta", "v1alpha", "v1"] = "v1beta"
    #: Voice used until the client picks one (an OpenAI or a Gemini voice name).
    voice: str | None = None
    #: ``speechConfig.languageCode`` for the model's speech (BCP-47, e.g. ``en-US``).
    language: str | None = None
    #: Sampling temperature used unless a (beta) client sets one.
    temperature: float | None = Field(default=None, ge=0, le=2)
    #: Seconds to wait for the client's first ``session.update`` before sending
    #: Gemini's one-time ``setup`` with the defaults (content events send it at once).
    setup_grace: float = Field(default=1.0, ge=0, le=30)
    #: Ask Gemini to compress the context (sliding window) so sessions can outlive
    #: the audio-session limit; the client's ``truncation: "disabled"`` turns it off.
    context_window_compression: bool = True
    #: Under server VAD, seconds after a commit to wait for Gemini's own reply
    #: before asking for it explicitly (only if the client sent response.create
    #: and no reply started).
    commit_reply_timeout: float = Field(default=2.0, gt=0, le=30)
    #: Seconds of silence rt appends to end a committed server-VAD turn on
    #: platforms without ``audioStreamEnd`` (Vertex); None = the VAD's silence + 0.5 s.
    silence_tail: float | None = Field(default=None, gt=0, le=5)
    #: Seconds before a ``goAway`` deadline at which rt reconnects even if a
    #: response is still streaming (it reconnects at once when idle).
    go_away_margin: float = Field(default=2.0, ge=0, le=60)
    #: Transparent resumptions allowed after unexpected upstream closes, in a row.
    max_resumptions: int = Field(default=3, ge=0, le=20)
    #: Seconds to open a replacement connection when reconnecting.
    reconnect_timeout: float = Field(default=10.0, gt=0, le=120)
    #: WebSocket keepalive; pongs are never required in time (Gemini's arrive late).
    ping_interval: float | None = Field(default=20.0, gt=0)
    #: A user turn sent for a ``response.create`` that adds nothing new, because
    #: Gemini 2.x does not answer an empty completed turn; ``""`` sends none.
    #: None: "." for Gemini 2.x models, nothing for newer ones.
    reply_placeholder: str | None = None

    @field_validator("api_version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        if v is None:
            return "v1beta"
        if isinstance(v, str):
            low = v.strip().lower()
            if low in ("beta",):
                return "v1beta"
            if low in ("alpha",):
                return "v1alpha"
            return low
        return v

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str | None) -> str | None:
        if v is None:
            return v
        scheme = urlsplit(v if "://" in v else "https://" + v).scheme.lower()
        if scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"api_base must be an http, https, ws or wss URL, got scheme {scheme!r}")
        return v


def live_path(api_version: str, *, constrained: bool = False) -> str:
    """The BidiGenerateContent path for an API version."""
    method = "BidiGenerateContentConstrained" if constrained else "BidiGenerateContent"
    return f"/ws/google.ai.generativelanguage.{api_version}.GenerativeService.{method}"


def live_url(api_base: str | None, api_version: str = "v1beta", *, constrained: bool = False) -> str:
    """The Live WebSocket URL for a LiteLLM-style ``api_base``.

    ``api_base`` is a host base (``https://generativelanguage.googleapis.com``,
    ``http://127.0.0.1:9000``); a trailing ``/v1beta``-style version segment is
    dropped (LiteLLM users write both forms), and a base that already names the
    Live path is used as given.  The key never goes into the URL.
    """
    base = api_base or DEFAULT_API_BASE
    if "://" not in base:
        base = "https://" + base
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if "GenerativeService.BidiGenerateContent" in path:
        return websocket_url(base, path)
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1] in _VERSIONS:
        segments.pop()
    base = urlunsplit((parts.scheme, parts.netloc, "/".join([""] + segments), parts.query, ""))
    return websocket_url(base, live_path(api_version, constrained=constrained))


def live_headers(settings: GeminiSettings) -> dict[str, str]:
    """Handshake headers: the key as ``x-goog-api-key`` (an ephemeral token also
    as ``Authorization: Token …``, as google-genai sends it)."""
    headers = {"Content-Type": "application/json", "x-goog-api-client": "rt-gateway/0.1"}
    if settings.api_key is not None:
        key = settings.api_key.get_secret_value()
        headers["x-goog-api-key"] = key
        if key.startswith(EPHEMERAL_PREFIX):
            headers["Authorization"] = f"Token {key}"
    return headers


def wire_model(model: str) -> str:
    """``models/<id>``, the form AI Studio's ``setup.model`` takes."""
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def connect(deployment: Deployment) -> GeminiUpstream:
    settings: GeminiSettings = deployment.settings  # type: ignore[assignment]
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    return GeminiUpstream(
        live_url(settings.api_base, settings.api_version, constrained=key.startswith(EPHEMERAL_PREFIX)),
        headers=live_headers(settings),
        name=deployment.label,
        ping_interval=settings.ping_interval,
        reconnect_timeout=settings.reconnect_timeout,
    )


def env_defaults(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """With ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``) set, the embedded default
    config serves ``gemini-live``."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        if env.get(name):
            return [{
                "model_name": "gemini-live",
                "litellm_params": {"model": "gemini/gemini-live-2.5-flash-preview", "api_key": f"os.environ/{name}"},
                "model_info": {"mode": "realtime"},
            }]
    return []
