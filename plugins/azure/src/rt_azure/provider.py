"""Azure OpenAI deployment settings and how to reach the upstream (no protocol logic).

Azure serves the OpenAI Realtime protocol at two URLs per resource:

* **beta** (the "preview" / dated-API-version endpoint):
  ``wss://RESOURCE.openai.azure.com/openai/realtime?api-version=V&deployment=D``,
  beta event dialect;
* **GA** (the "v1" endpoint):
  ``wss://RESOURCE.openai.azure.com/openai/v1/realtime?model=D``, GA events.

A key goes in the ``api-key`` header, an Entra ID token in ``Authorization:
Bearer``; rt never sends both.
"""

from __future__ import annotations

import importlib.util
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import PrivateAttr, SecretStr, model_validator

from rt_core import Deployment, websocket_url
from rt_openai import OpenAISettings

from .entra import EntraTokenProvider
from .upstream import AzureUpstream

__all__ = ["AzureSettings", "DEFAULT_SCOPE", "azure_headers", "connect", "realtime_url"]

#: The Entra ID scope of Azure OpenAI / Azure AI Foundry resources.
DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"



def _has_azure_identity() -> bool:
    try:
        return importlib.util.find_spec("azure.identity") is not None
    except ImportError:  # no ``azure`` namespace package at all
        return False


class AzureSettings(OpenAISettings):
    """``litellm_params`` for ``azure/<deployment>`` deployments.

    ``realtime_protocol`` (LiteLLM's key) picks the endpoint: ``beta`` (the
    preview URL, needs ``api_version``) or ``GA`` (the v1 URL).  When it is
    not set, a configured ``api_version`` means ``beta`` -- what LiteLLM does
    with the same config -- and no ``api_version`` means ``GA``.
    """

    realtime_protocol: Literal["GA", "beta"] | None = None  # type: ignore[assignment]
    #: A static Entra ID access token (sent as ``Authorization: Bearer``).
    azure_ad_token: SecretStr | None = None
    #: Entra ID client credentials (``pip install 'rt-azure[entra]'``).
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    azure_scope: str = DEFAULT_SCOPE

    _token_provider: EntraTokenProvider | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> "AzureSettings":
        if not self.api_base:
            raise ValueError(
                "api_base is required for azure/ deployments: the resource endpoint, "
                "e.g. https://NAME.openai.azure.com"
            )
        client_creds = [self.tenant_id, self.client_id, self.client_secret]
        if any(c is not None for c in client_creds) and not all(c is not None for c in client_creds):
            raise ValueError("tenant_id, client_id and client_secret must be given together")
        uses_client_creds = self.client_secret is not None
        if self.azure_ad_token is not None and uses_client_creds:
            raise ValueError("use either azure_ad_token or tenant_id/client_id/client_secret, not both")
        if self.api_key is not None and (self.azure_ad_token is not None or uses_client_creds):
            raise ValueError(
                "use either api_key or Entra ID (azure_ad_token, or tenant_id/client_id/client_secret), not both"
            )
        if uses_client_creds and not _has_azure_identity():
            raise ValueError(
                "tenant_id/client_id/client_secret need the azure-identity package: "
                "pip install 'rt-azure[entra]'"
            )
        if self.realtime_protocol is None:
            self.realtime_protocol = "beta" if self.api_version else "GA"
        if self.realtime_protocol == "beta" and not self.api_version:
            raise ValueError(
                "api_version is required with realtime_protocol: beta (the preview endpoint), "
                "e.g. api_version: 2025-04-01-preview; or use realtime_protocol: GA"
            )
        return self

    @property
    def upstream_dialect(self) -> str:
        return "beta" if self.realtime_protocol == "beta" else "ga"

    def token_provider(self) -> EntraTokenProvider | None:
        """The deployment's Entra ID token source (one per deployment, so its
        cached token is shared by every session), or None."""
        if self.client_secret is None:
            return None
        if self._token_provider is None:
            assert self.tenant_id is not None and self.client_id is not None
            self._token_provider = EntraTokenProvider(
                self.tenant_id, self.client_id, self.client_secret, self.azure_scope
            )
        return self._token_provider


_TAILS = ("/openai/v1/realtime", "/openai/realtime", "/openai/v1", "/openai")


def realtime_url(settings: AzureSettings, deployment_name: str) -> str:
    """The upstream WebSocket URL (``http``→``ws``, ``https``→``wss``;
    ``ws``/``wss`` kept, so plain-text private gateways work).

    ``api_base`` is the resource endpoint; a path users often copy with it
    (``/openai``, ``/openai/v1``, either realtime path) is replaced by the
    path of the chosen protocol, so every spelling reaches the same URL.
    """
    base = settings.api_base
    assert base is not None
    parts = urlsplit(base if "://" in base else "https://" + base)
    root = parts.path.rstrip("/")
    for tail in _TAILS:
        if root.endswith(tail):
            root = root[: -len(tail)]
            break
    root_url = urlunsplit((parts.scheme, parts.netloc, root, parts.query, ""))
    if settings.realtime_protocol == "beta":
        assert settings.api_version is not None
        query = {"api-version": settings.api_version, "deployment": deployment_name}
        return websocket_url(root_url, "/openai/realtime", query)
    return websocket_url(root_url, "/openai/v1/realtime", {"model": deployment_name})


def azure_headers(settings: AzureSettings) -> dict[str, str]:
    """Handshake headers: ``api-key`` for a key, ``Authorization: Bearer`` for
    a static Entra token; client-credential tokens are added at open time."""
    if settings.api_key is not None:
        return {"api-key": settings.api_key.get_secret_value()}
    if settings.azure_ad_token is not None:
        return {"Authorization": f"Bearer {settings.azure_ad_token.get_secret_value()}"}
    return {}


def connect(deployment: Deployment) -> AzureUpstream:
    settings: AzureSettings = deployment.settings  # type: ignore[assignment]
    return AzureUpstream(
        realtime_url(settings, deployment.model),
        headers=azure_headers(settings),
        token_provider=settings.token_provider(),
        name=deployment.label,
    )

