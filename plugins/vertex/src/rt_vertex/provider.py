"""Vertex AI Live deployment settings and how to reach the service.

No protocol logic here (rt-gemini's translator speaks the protocol, with
``platform="vertex"``): this module validates ``litellm_params``, loads the
credentials, and builds the WebSocket URL, the handshake headers and the
model's resource name.

Config (``litellm_params``)::

    model: vertex_ai/gemini-live-2.5-flash-native-audio
    vertex_project: my-project            # default: the credentials' project, then
                                          # VERTEXAI_PROJECT / GOOGLE_CLOUD_PROJECT
    vertex_location: us-central1          # a region, "global", or the "us"/"eu" multi-regions
    vertex_credentials: /path/to/sa.json  # or the JSON inline, or os.environ/NAME;
                                          # absent: Application Default Credentials
    api_version: v1beta1                  # or v1
    api_base: https://proxy.example       # optional: replaces the Google host
    input_audio_rate: 16000               # default here (Vertex documents 16 kHz input only);
                                          # "native" sends the client's rate, declared

Every key of ``gemini/`` deployments (voice, language, setup_grace,
go_away_margin, …) works the same here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator

from rt_core import Deployment, websocket_url
from rt_gemini.provider import GeminiSettings, InputAudioRateSetting, google_headers, upstream_options

from .auth import GoogleTokenSource, VertexAuthError, project_from_environment
from .upstream import VertexUpstream

__all__ = [
    "DEFAULT_LOCATION", "MULTI_REGIONS", "VertexSettings", "connect", "env_defaults", "live_host", "live_path",
    "live_url", "model_resource",
]

#: LiteLLM's default location for Vertex AI.
DEFAULT_LOCATION = "us-central1"
#: Multi-region locations, served from ``aiplatform.{loc}.rep.googleapis.com``.
MULTI_REGIONS = frozenset({"us", "eu"})
GLOBAL_HOST = "aiplatform.googleapis.com"

_LOCATION_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9.:-]*[a-z0-9]$")


class VertexSettings(GeminiSettings):
    """``litellm_params`` for ``vertex_ai/…`` deployments.

    Resolved values (after defaults and the credentials) are
    :attr:`project`, :attr:`location` and :attr:`token_source`.
    ``api_key`` selects Vertex AI *express mode* (an API key instead of OAuth;
    no project needed).
    """

    api_version: Literal["v1beta1", "v1"] = "v1beta1"  # type: ignore[assignment]
    API_VERSION_ALIASES: ClassVar[Mapping[str, str]] = {"beta": "v1beta1", "v1beta": "v1beta1"}
    vertex_project: str | None = Field(
        default=None, validation_alias=AliasChoices("vertex_project", "vertex_ai_project"))
    vertex_location: str | None = Field(
        default=None, validation_alias=AliasChoices("vertex_location", "vertex_region", "vertex_ai_location"))
    vertex_credentials: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("vertex_credentials", "vertex_ai_credentials"))
    #: Vertex's Live API documents 16 kHz pcm16 input only (AI Studio's documents
    #: server-side resampling of any declared rate), so rt resamples by default;
    #: ``"native"`` trades that safety for no added latency, as on AI Studio.
    input_audio_rate: InputAudioRateSetting = 16000

    _project: str | None = PrivateAttr(default=None)
    _location: str = PrivateAttr(default=DEFAULT_LOCATION)
    _token_source: GoogleTokenSource | None = PrivateAttr(default=None)

    @field_validator("vertex_credentials", mode="before")
    @classmethod
    def _credentials_value(cls, v: Any) -> Any:
        # A YAML mapping is the credential JSON inline: keep it as secret text.
        if isinstance(v, Mapping):
            return json.dumps(dict(v))
        return v

    @field_validator("vertex_location")
    @classmethod
    def _location_value(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().lower()
        if not _LOCATION_RE.match(v):
            raise ValueError(f"{v!r} is not a Vertex AI location (e.g. us-central1, europe-west4, global, us, eu)")
        return v

    @field_validator("vertex_project")
    @classmethod
    def _project_value(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip()
        if not _PROJECT_RE.match(v):
            raise ValueError(f"{v!r} is not a Google Cloud project id")
        return v

    @model_validator(mode="after")
    def _resolve(self) -> VertexSettings:
        env_location = os.environ.get("VERTEXAI_LOCATION") or os.environ.get("GOOGLE_CLOUD_LOCATION")
        location = self.vertex_location or (env_location.strip().lower() if env_location else None)
        if self.express:
            if self.vertex_credentials is not None:
                raise ValueError("use either api_key (Vertex AI express mode) or vertex_credentials, not both")
            self._location = location or "global"
            self._project = self.vertex_project
            return self
        self._location = location or DEFAULT_LOCATION
        value = self.vertex_credentials.get_secret_value() if self.vertex_credentials is not None else None
        try:
            source = GoogleTokenSource.from_value(value)
        except VertexAuthError as exc:
            raise ValueError(str(exc)) from None
        project = self.vertex_project or source.project_id or project_from_environment()
        if not project:
            raise ValueError(
                "vertex_project is required: the credentials do not name a project (set vertex_project, "
                "or VERTEXAI_PROJECT / GOOGLE_CLOUD_PROJECT in the environment)")
        self._project = project
        self._token_source = source
        return self

    # ------------------------------------------------------------------ resolved values

    @property
    def express(self) -> bool:
        """Express mode: an API key, no OAuth."""
        return self.api_key is not None

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def location(self) -> str:
        return self._location

    @property
    def token_source(self) -> GoogleTokenSource | None:
        """The deployment's cached access tokens (None in express mode)."""
        return self._token_source


def live_host(location: str) -> str:
    """The Vertex AI host serving ``location``."""
    if location == "global":
        return GLOBAL_HOST
    if location in MULTI_REGIONS:
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


def live_path(api_version: str = "v1beta1") -> str:
    """The BidiGenerateContent path for an API version."""
    return f"/ws/google.cloud.aiplatform.{api_version}.LlmBidiService/BidiGenerateContent"


def live_url(settings: VertexSettings) -> str:
    """The Live WebSocket URL: Google's host for the location, or ``api_base``.

    ``api_base`` (http, https, ws or wss) gets the Live path appended unless it
    already names it, as LiteLLM does.
    """
    path = live_path(settings.api_version)
    base = settings.api_base
    if base:
        full = base if "://" in base else "https://" + base
        if "LlmBidiService" in urlsplit(full).path:
            return websocket_url(full, urlsplit(full).path)
        return websocket_url(full, path)
    return f"wss://{live_host(settings.location)}{path}"


def model_resource(model: str, settings: VertexSettings) -> str:
    """The model as Vertex's ``setup.model`` wants it.

    ``projects/{p}/locations/{l}/publishers/google/models/{m}`` (a model given
    as a full resource name is kept; ``publishers/…`` gets the project and
    location prefixed); express mode uses ``publishers/google/models/{m}``.
    """
    if model.startswith("projects/"):
        return model
    if model.startswith("models/"):
        model = model[len("models/"):]
    tail = model if model.startswith("publishers/") else f"publishers/google/models/{model}"
    if settings.project is None:
        return tail
    return f"projects/{settings.project}/locations/{settings.location}/{tail}"


def connect(deployment: Deployment) -> VertexUpstream:
    """The upstream; its OAuth headers are fetched when each connection opens
    (:meth:`VertexUpstream.refresh_headers`), the express-mode key is fixed."""
    settings: VertexSettings = deployment.settings  # type: ignore[assignment]
    return VertexUpstream(live_url(settings), headers=google_headers(settings.api_key),
                          auth=settings.token_source, **upstream_options(deployment))


def env_defaults(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """With ``GOOGLE_APPLICATION_CREDENTIALS`` and a project in the environment,
    the embedded default config serves ``vertex-live`` (references, never values)."""
    creds = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    project_var = next((n for n in ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT") if env.get(n)), None)
    if not creds or project_var is None:
        return []
    params: dict[str, Any] = {
        "model": "vertex_ai/gemini-live-2.5-flash-native-audio",
        "vertex_project": f"os.environ/{project_var}",
        "vertex_credentials": "os.environ/GOOGLE_APPLICATION_CREDENTIALS",
    }
    location_var = next((n for n in ("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION") if env.get(n)), None)
    if location_var:
        params["vertex_location"] = f"os.environ/{location_var}"
    return [{"model_name": "vertex-live", "litellm_params": params, "model_info": {"mode": "realtime"}}]
