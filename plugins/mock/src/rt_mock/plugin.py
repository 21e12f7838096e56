"""rt hook implementations for the ``mock`` provider: thin glue only.

Each hook first checks that the deployment or session is ours and returns
``None`` otherwise, so pluggy moves on to the plugin that owns it.
"""

from __future__ import annotations

from rt_core import Deployment, ProviderSpec, Session, hookimpl

from .provider import PROVIDER, PROVIDER_NAME, MockSettings
from .translator import MockTranslator
from .upstream import MockUpstream


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [PROVIDER]


@hookimpl
def create_translator(deployment: Deployment, session: Session) -> MockTranslator | None:
    if deployment.provider != PROVIDER_NAME:
        return None
    settings = deployment.settings
    if not isinstance(settings, MockSettings):  # a core that skipped our settings model
        settings = MockSettings.model_validate(settings.model_dump())
    return MockTranslator(settings, model=deployment.model, ids=session.ids, session_id=session.id)


@hookimpl
def connect_upstream(deployment: Deployment, session: Session) -> MockUpstream | None:
    if deployment.provider != PROVIDER_NAME:
        return None
    return MockUpstream()
