"""Hook implementations for the ``bedrock`` provider: thin glue only."""

from __future__ import annotations

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from .provider import PROVIDER, BedrockSettings, model_id_of
from .translator import NovaTranslator
from .upstream import NovaUpstream

__all__ = ["rt_providers", "create_translator", "connect_upstream"]


def _ours(deployment: Deployment | None) -> bool:
    return deployment is not None and deployment.provider == PROVIDER.name


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [PROVIDER]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> NovaTranslator | None:
    if not _ours(deployment):
        return None
    settings = deployment.settings
    assert isinstance(settings, BedrockSettings)
    return NovaTranslator(
        settings,
        model_id_of(deployment.model),
        model_name=session.model,
        ids=session.ids,
        clock=session.clock,
    )


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> NovaUpstream | None:
    if not _ours(deployment):
        return None
    settings = deployment.settings
    assert isinstance(settings, BedrockSettings)
    translator = session.translator
    assert isinstance(translator, NovaTranslator)
    return NovaUpstream(
        settings,
        model_id_of(deployment.model),
        first_events=translator.first_stream_events(),
        closing_events=translator.closing_events,
        label=deployment.label,
    )
