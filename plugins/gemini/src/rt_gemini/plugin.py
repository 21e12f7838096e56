"""rt-gemini hook implementations: thin glue over provider.py and translator.py.

Events reach the translator through the core's built-in dispatch
(:mod:`rt_core.dispatch`), so there are no ``translate_*`` hooks here.
"""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from . import provider
from .provider import GeminiSettings
from .translator import GeminiTranslator

NAME = "gemini"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=GeminiSettings,
        env_defaults=provider.env_defaults,
        description="Gemini Live API (Google AI Studio), translated from the OpenAI Realtime API",
    )]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: GeminiSettings = deployment.settings  # type: ignore[assignment]
    opts = provider.translator_options(settings, provider.wire_model(deployment.model))
    return GeminiTranslator(opts, model=session.model, ids=session.ids)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)
