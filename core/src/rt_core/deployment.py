"""Providers and deployments: what a plugin declares and what the router picks.

A *provider* is a ``litellm_params.model`` prefix (``openai/…``, ``gemini/…``)
served by a plugin; a *deployment* is one ``model_list`` entry, validated with
its provider's settings model; a *model group* is every deployment sharing a
``model_name``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["ProviderSpec", "DeploymentSettings", "Deployment", "KNOWN_EXTRA_PARAMS"]

#: ``litellm_params`` keys LiteLLM users commonly carry that rt accepts silently.
KNOWN_EXTRA_PARAMS = frozenset(
    {"stream_timeout", "max_retries", "order", "tags", "drop_params", "custom_llm_provider",
     "input_cost_per_token", "output_cost_per_token", "input_cost_per_second", "output_cost_per_second",
     "use_in_pass_through", "litellm_credential_name", "organization", "region_name", "mode"}
)


class DeploymentSettings(BaseModel):
    """``litellm_params`` keys every provider understands.

    Providers subclass this with their own keys.  Unknown keys are kept (so a
    LiteLLM config with keys rt does not use still loads) and reported as a
    warning naming their config path.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model: str
    api_key: SecretStr | None = None
    api_base: str | None = None
    api_version: str | None = None
    #: Seconds to open the upstream (TCP + TLS + handshake); LiteLLM's ``timeout``.
    timeout: float | None = Field(default=None, gt=0)
    connect_timeout: float | None = Field(default=None, gt=0)
    #: Routing knobs (used by the router; harmless otherwise).
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    weight: float | None = Field(default=None, ge=0)
    max_parallel_requests: int | None = Field(default=None, ge=1)
    #: Upstream event dialect for OpenAI-protocol upstreams: ``GA`` or ``beta``.
    realtime_protocol: str | None = None

    @field_validator("api_base")
    @classmethod
    def _api_base_scheme(cls, v: str | None) -> str | None:
        """LiteLLM users write ``api_base`` as http(s) or ws(s) URLs, or a bare host."""
        if v is None:
            return v
        scheme = urlsplit(v if "://" in v else "https://" + v).scheme.lower()
        if scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"api_base must be an http, https, ws or wss URL, got scheme {scheme!r}")
        return v

    def effective_connect_timeout(self, default: float) -> float:
        return self.connect_timeout or self.timeout or default


@dataclass(frozen=True)
class ProviderSpec:
    """What a plugin serves.  Returned from the ``rt_providers`` hook.

    :param name: the ``litellm_params.model`` prefix (``"gemini"``).
    :param settings: pydantic model validating ``litellm_params``.
    :param aliases: other prefixes meaning the same provider.
    :param env_defaults: given the environment, the ``model_list`` entries the
        embedded default config should add (e.g. one ``gpt-realtime`` entry
        when ``OPENAI_API_KEY`` is set).  Keys are written as
        ``os.environ/NAME`` references, never copied.
    :param description: one line for ``rt-core plugins``.
    """

    name: str
    settings: type[DeploymentSettings] = DeploymentSettings
    aliases: tuple[str, ...] = ()
    env_defaults: Callable[[Mapping[str, str]], list[dict[str, Any]]] | None = None
    description: str = ""


@dataclass(eq=False)
class Deployment:
    """One validated ``model_list`` entry."""

    id: str
    model_name: str
    provider: str
    model: str
    settings: DeploymentSettings
    index: int = 0
    model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A safe, human-readable name: group, provider/model and id; never a key."""
        return f"{self.provider}/{self.model} ({self.id})"

    def __repr__(self) -> str:
        return f"Deployment({self.label})"


def key_fingerprint(key: str) -> str:
    """A short, non-reversible tag for a key, for logs ("key-3fa1c2d9")."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]
