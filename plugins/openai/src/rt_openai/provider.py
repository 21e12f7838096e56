"""OpenAI deployment settings and how to reach the upstream (no protocol logic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import field_validator

from rt_core import Deployment, DeploymentSettings, WebSocketUpstream, websocket_url

DEFAULT_API_BASE = "https://api.openai.com/v1"


class OpenAISettings(DeploymentSettings):
    """``litellm_params`` for ``openai/…`` deployments."""

    realtime_protocol: Literal["GA", "beta"] = "GA"
    organization: str | None = None
    project: str | None = None

    @field_validator("realtime_protocol", mode="before")
    @classmethod
    def _protocol(cls, v: Any) -> Any:
        if isinstance(v, str):
            low = v.strip().lower()
            if low in ("ga", "v1", "1", "release"):
                return "GA"
            if low in ("beta", "preview"):
                return "beta"
        return v


def realtime_url(api_base: str | None, model: str, *, default_base: str = DEFAULT_API_BASE) -> str:
    """The realtime WebSocket URL for an OpenAI-protocol ``api_base``.

    ``https://api.openai.com/v1`` → ``wss://api.openai.com/v1/realtime?model=M``;
    a bare ``http://host:port`` gets ``/v1/realtime``; a ``ws(s)://…/realtime``
    URL is used as given (``model`` added).
    """
    base = api_base or default_base
    path = urlsplit(base if "://" in base else "https://" + base).path.rstrip("/")
    return websocket_url(base, "/realtime" if path else "/v1/realtime", {"model": model})


def openai_headers(settings: OpenAISettings) -> dict[str, str]:
    headers: dict[str, str] = {}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    if settings.realtime_protocol == "beta":
        headers["OpenAI-Beta"] = "realtime=v1"
    if settings.organization:
        headers["OpenAI-Organization"] = settings.organization
    if settings.project:
        headers["OpenAI-Project"] = settings.project
    return headers


def connect(deployment: Deployment) -> WebSocketUpstream:
    settings: OpenAISettings = deployment.settings  # type: ignore[assignment]
    return WebSocketUpstream(
        realtime_url(settings.api_base, deployment.model),
        headers=openai_headers(settings),
        name=deployment.label,
    )


def env_defaults(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """With ``OPENAI_API_KEY`` set, the embedded default serves ``gpt-realtime``."""
    if not env.get("OPENAI_API_KEY"):
        return []
    return [{
        "model_name": "gpt-realtime",
        "litellm_params": {"model": "openai/gpt-realtime", "api_key": "os.environ/OPENAI_API_KEY"},
        "model_info": {"mode": "realtime"},
    }]
