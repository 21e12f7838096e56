"""rt-azure hook implementations: thin glue over provider.py and translator.py."""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from . import provider
from .provider import AzureSettings
from .translator import AzureTranslator

NAME = "azure"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=AzureSettings,
        description="Azure OpenAI realtime (passthrough; preview/beta or v1/GA endpoint)",
    )]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: AzureSettings = deployment.settings  # type: ignore[assignment]
    return AzureTranslator(settings.upstream_dialect, ids=session.ids)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)
