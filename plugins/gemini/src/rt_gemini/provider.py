"""Gemini Live (AI Studio) deployment settings and how to reach the service.

No protocol logic here: this module validates ``litellm_params`` and builds the
translator's options, the WebSocket URL, the handshake headers and the
:class:`~rt_gemini.upstream.GeminiUpstream`.  rt-vertex extends the settings and
reuses what does not depend on the endpoint -- :func:`translator_options` (with
``platform="vertex"``), :func:`upstream_options`, :func:`google_headers` -- and
supplies its own URL, OAuth token and model resource name.

Config (``litellm_params``)::

    model: gemini/gemini-live-2.5-flash-preview
    api_key: os.environ/GEMINI_API_KEY      # sent as the x-goog-api-key header
    api_base: https://generativelanguage.googleapis.com   # optional; http(s)/ws(s)
    api_version: v1beta                     # v1beta (default), v1alpha or v1
    input_audio_rate: native                # or a rate to resample input to, e.g. 16000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator

from rt_core import Deployment, DeploymentSettings, websocket_url

from . import wire
from .session_config import Platform, SetupOptions
from .state import TranslatorOptions
from .upstream import GeminiUpstream

__all__ = [
    "GeminiSettings", "DEFAULT_API_BASE", "live_path", "live_url", "google_headers", "live_headers", "wire_model",
    "translator_options", "upstream_options", "connect", "env_defaults", "InputAudioRateSetting",
]

DEFAULT_API_BASE = "wss://generativelanguage.googleapis.com"
_VERSIONS = ("v1beta", "v1alpha", "v1")
#: Ephemeral tokens minted with ``client.auth_tokens.create`` look like this.
EPHEMERAL_PREFIX = "auth_tokens/"

#: ``input_audio_rate``: ``"native"``, or a pcm16 rate to resample client input to.
InputAudioRateSetting = Literal["native"] | Annotated[int, Field(ge=wire.MIN_INPUT_RATE, le=wire.MAX_INPUT_RATE)]


class GeminiSettings(DeploymentSettings):
    """``litellm_params`` for ``gemini/…`` deployments (rt-vertex extends them)."""

    api_version: Literal["v1beta", "v1alpha", "v1"] = "v1beta"
    #: Short ``api_version`` forms users write, and what they mean here.
    API_VERSION_ALIASES: ClassVar[Mapping[str, str]] = {"beta": "v1beta", "alpha": "v1alpha"}
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
    #: The rate of the input audio rt sends Gemini.  ``"native"``: the client's
    #: own (pcm16 at its rate, G.711 decoded to pcm16 at 8 kHz) with the rate
    #: declared in the MIME type -- no resampling in rt, so no added latency,
    #: relying on Google's documented server-side resampling.  An integer: rt
    #: resamples to that rate (libsoxr; about 21 ms held on average, 24 → 16 kHz).
    input_audio_rate: InputAudioRateSetting = "native"

    @field_validator("api_version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        # Inherited by subclasses, which change the field and the aliases only.
        if v is None:
            return cls.model_fields["api_version"].default
        if isinstance(v, str):
            low = v.strip().lower()
            return cls.API_VERSION_ALIASES.get(low, low)
        return v

    @field_validator("input_audio_rate", mode="before")
    @classmethod
    def _input_audio_rate(cls, v: Any) -> Any:
        # One clear message instead of one per member of the union (inherited by rt-vertex).
        if isinstance(v, str) and v.strip().lower() == "native":
            return "native"
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if type(v) is not int or not wire.MIN_INPUT_RATE <= v <= wire.MAX_INPUT_RATE:
            raise ValueError(f'input_audio_rate must be "native" or a sample rate in Hz from '
                             f"{wire.MIN_INPUT_RATE} to {wire.MAX_INPUT_RATE} (e.g. 16000), got {v!r}")
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


def google_headers(api_key: SecretStr | None) -> dict[str, str]:
    """Handshake headers every Google Live endpoint takes, with an API key (if
    any) as ``x-goog-api-key``: AI Studio's, and Vertex's express mode."""
    headers = {"Content-Type": "application/json", "x-goog-api-client": "rt-gateway/0.1"}
    if api_key is not None:
        headers["x-goog-api-key"] = api_key.get_secret_value()
    return headers


def live_headers(settings: GeminiSettings) -> dict[str, str]:
    """AI Studio's handshake headers: :func:`google_headers`, and an ephemeral
    token also as ``Authorization: Token …``, as google-genai sends it."""
    headers = google_headers(settings.api_key)
    key = headers.get("x-goog-api-key", "")
    if key.startswith(EPHEMERAL_PREFIX):
        headers["Authorization"] = f"Token {key}"
    return headers


def wire_model(model: str) -> str:
    """``models/<id>``, the form AI Studio's ``setup.model`` takes."""
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def translator_options(settings: GeminiSettings, model: str, *,
                       platform: Platform = "aistudio") -> TranslatorOptions:
    """The translator's behaviour for a deployment's settings.

    Public because rt-vertex builds its translator from the same settings (its
    ``VertexSettings`` extends :class:`GeminiSettings`).

    :param settings: the deployment's ``litellm_params``.
    :param model: the model exactly as ``setup.model`` carries it: ``models/…``
        on AI Studio (:func:`wire_model`), the full resource name on Vertex.
    :param platform: ``"vertex"`` makes the translator leave out what Vertex
        rejects (``audioStreamEnd``, ``willContinue``), end committed turns
        with a silence tail instead, and read Vertex's usage names.  (The
        input audio rate is the settings', whose default the platform's
        settings class decides: ``"native"`` here, 16000 on Vertex.)
    """
    return TranslatorOptions(
        setup=SetupOptions(
            model=model,
            platform=platform,
            language=settings.language,
            temperature=settings.temperature,
            context_window_compression=settings.context_window_compression,
        ),
        default_voice=settings.voice,
        setup_grace=settings.setup_grace,
        commit_reply_timeout=settings.commit_reply_timeout,
        silence_tail=settings.silence_tail,
        go_away_margin=settings.go_away_margin,
        max_resumptions=settings.max_resumptions,
        reply_placeholder=settings.reply_placeholder,
        input_audio_rate=settings.input_audio_rate,
    )


def upstream_options(deployment: Deployment) -> dict[str, Any]:
    """:class:`~rt_gemini.upstream.GeminiUpstream` keyword arguments that come
    from the deployment (its label, and the connection keys of
    :class:`GeminiSettings`): shared with rt-vertex, whose upstream extends it."""
    settings: GeminiSettings = deployment.settings  # type: ignore[assignment]
    return {"name": deployment.label, "ping_interval": settings.ping_interval,
            "reconnect_timeout": settings.reconnect_timeout}


def connect(deployment: Deployment) -> GeminiUpstream:
    settings: GeminiSettings = deployment.settings  # type: ignore[assignment]
    headers = live_headers(settings)
    constrained = headers.get("x-goog-api-key", "").startswith(EPHEMERAL_PREFIX)
    return GeminiUpstream(live_url(settings.api_base, settings.api_version, constrained=constrained),
                          headers=headers, **upstream_options(deployment))


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
