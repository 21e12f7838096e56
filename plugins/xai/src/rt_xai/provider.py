"""xAI deployment settings and how to reach the upstream (no protocol logic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from rt_core import Deployment, WebSocketUpstream
from rt_openai import OpenAISettings, realtime_url
from rt_openai.provider import openai_headers

__all__ = ["DEFAULT_API_BASE", "XAISettings", "connect", "env_defaults", "xai_url"]

DEFAULT_API_BASE = "https://api.x.ai/v1"


class XAISettings(OpenAISettings):
    """``litellm_params`` for ``xai/<model>`` deployments.

    :ivar voice_map: OpenAI voice name → xAI voice, merged over the built-in
        table (:data:`rt_xai.voices.DEFAULT_VOICE_MAP`).
    :ivar semantic_vad: what to do with a client's ``semantic_vad`` turn
        detection, which xAI does not have: ``reject`` it with an ``error``
        event (default), or use ``server_vad`` instead (the next
        ``session.updated`` then shows ``server_vad``).
    """

    realtime_protocol: Literal["GA"] = "GA"
    voice_map: dict[str, str] = Field(default_factory=dict)
    semantic_vad: Literal["reject", "server_vad"] = "reject"

    @field_validator("realtime_protocol", mode="before")
    @classmethod
    def _only_ga(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in ("beta", "preview"):
            raise ValueError("xAI speaks only the GA event dialect; remove realtime_protocol")
        return v

    @field_validator("voice_map")
    @classmethod
    def _lower_keys(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.lower(): val for k, val in v.items()}


def xai_url(settings: XAISettings, model: str) -> str:
    """``https://api.x.ai/v1`` → ``wss://api.x.ai/v1/realtime?model=M``."""
    return realtime_url(settings.api_base, model, default_base=DEFAULT_API_BASE)


def connect(deployment: Deployment) -> WebSocketUpstream:
    settings: XAISettings = deployment.settings  # type: ignore[assignment]
    return WebSocketUpstream(
        xai_url(settings, deployment.model),
        headers=openai_headers(settings),  # Authorization: Bearer <key>
        name=deployment.label,
    )


def env_defaults(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """With ``XAI_API_KEY`` set, the embedded default serves ``grok-voice``."""
    if not env.get("XAI_API_KEY"):
        return []
    return [{
        "model_name": "grok-voice",
        "litellm_params": {"model": "xai/grok-voice-latest", "api_key": "os.environ/XAI_API_KEY"},
        "model_info": {"mode": "realtime"},
    }]
