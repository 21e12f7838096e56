"""rt-vertex hook implementations: thin glue over provider.py and rt-gemini's
public seams (``translator_options`` with ``platform="vertex"``, the translator);
the core's built-in dispatch feeds the translator, as for rt-gemini."""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl
from rt_gemini import GeminiTranslator
from rt_gemini.provider import translator_options

from . import provider
from .provider import VertexSettings

NAME = "vertex_ai"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=VertexSettings,
        aliases=("vertex",),
        env_defaults=provider.env_defaults,
        description="Gemini Live API on Vertex AI (Google Cloud OAuth), translated from the OpenAI Realtime API",
    )]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: VertexSettings = deployment.settings  # type: ignore[assignment]
    model = provider.model_resource(deployment.model, settings)
    opts = translator_options(settings, model, platform="vertex")
    return GeminiTranslator(opts, model=session.model, ids=session.ids)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)
