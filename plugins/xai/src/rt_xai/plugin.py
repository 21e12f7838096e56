"""rt-xai hook implementations: thin glue over provider.py and translator.py."""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from . import provider
from .provider import XAISettings
from .translator import XAITranslator

NAME = "xai"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=XAISettings,
        env_defaults=provider.env_defaults,
        description="xAI Grok Voice Agent API (OpenAI-compatible, normalised)",
    )]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: XAISettings = deployment.settings  # type: ignore[assignment]
    return XAITranslator(model=deployment.model, ids=session.ids, voice_map=settings.voice_map,
                         semantic_vad=settings.semantic_vad)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)
