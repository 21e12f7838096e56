"""rt-gemini hook implementations: thin glue over provider.py and translator.py."""

from __future__ import annotations

from typing import Any

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from . import provider
from .provider import GeminiSettings
from .session_config import SetupOptions
from .translator import GeminiTranslator, TranslatorOptions

NAME = "gemini"


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(
        name=NAME,
        settings=GeminiSettings,
        env_defaults=provider.env_defaults,
        description="Gemini Live API (Google AI Studio), translated from the OpenAI Realtime API",
    )]


def translator_options(settings: GeminiSettings, model: str) -> TranslatorOptions:
    """Translator behaviour for a deployment (``model`` is the wire model name)."""
    return TranslatorOptions(
        setup=SetupOptions(
            model=model,
            platform="aistudio",
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
    )


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> Any:
    if deployment.provider != NAME:
        return None
    settings: GeminiSettings = deployment.settings  # type: ignore[assignment]
    opts = translator_options(settings, provider.wire_model(deployment.model))
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
