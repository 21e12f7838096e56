"""rt-openai hook implementations: thin glue over provider.py and translator.py."""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from . import provider
from .provider import OpenAISettings
from .translator import PassthroughTranslator

NAME = "openai"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=OpenAISettings,
        env_defaults=provider.env_defaults,
        description="OpenAI Realtime API (passthrough)",
    )]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: OpenAISettings = deployment.settings  # type: ignore[assignment]
    return PassthroughTranslator("beta" if settings.realtime_protocol == "beta" else "ga", ids=session.ids)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)
