"""rt-vertex hook implementations: thin glue over provider.py and rt-gemini's translator."""

from __future__ import annotations

import dataclasses
from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl
from rt_gemini import GeminiTranslator, TranslatorOptions
from rt_gemini.plugin import translator_options as gemini_translator_options

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


def translator_options(settings: VertexSettings, model: str) -> TranslatorOptions:
    """rt-gemini's options for these settings, on the Vertex platform.

    ``model`` is the full resource name; ``platform="vertex"`` makes the
    translator leave out what Vertex rejects (``audioStreamEnd``,
    ``willContinue``) and end committed turns with a silence tail instead.
    """
    opts = gemini_translator_options(settings, model)
    return dataclasses.replace(opts, setup=dataclasses.replace(opts.setup, platform="vertex"))


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: VertexSettings = deployment.settings  # type: ignore[assignment]
    opts = translator_options(settings, provider.model_resource(deployment.model, settings))
    return GeminiTranslator(opts, model=session.model, ids=session.ids)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    return provider.connect(deployment)


def _mine(session: Session) -> bool:
    dep = session.deployment
    return dep is not None and dep.provider == NAME and isinstance(session.translator, GeminiTranslator)


@hookimpl
def translate_inbound(session: Session, event: Any) -> Any:
    if not _mine(session):
        return None
    return session.translator.inbound(event)


@hookimpl
def translate_outbound(session: Session, frame: Any) -> Any:
    if not _mine(session):
        return None
    return session.translator.outbound(frame)
