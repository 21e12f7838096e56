"""rt-azure configuration: LiteLLM keys, URLs, auth headers, and their errors."""

from __future__ import annotations

import pytest

from rt_azure.provider import AzureSettings, azure_headers, realtime_url
from rt_core import ConfigError
from rt_core.config import load_config
from rt_core.plugins import PluginHost

PREVIEW = "2025-04-01-preview"


def settings(**kw: object) -> AzureSettings:
    kw.setdefault("model", "azure/dep")
    kw.setdefault("api_base", "https://res.openai.azure.com")
    return AzureSettings.model_validate(kw)


@pytest.mark.parametrize("api_base", [
    "https://res.openai.azure.com", "https://res.openai.azure.com/", "res.openai.azure.com",
    "https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/v1/",
    "https://res.openai.azure.com/openai/realtime", "https://res.openai.azure.com/openai/v1/realtime",
])
def test_every_api_base_spelling_reaches_the_same_urls(api_base: str) -> None:
    ga = settings(api_base=api_base, api_key="k", realtime_protocol="GA")
    beta = settings(api_base=api_base, api_key="k", realtime_protocol="beta", api_version=PREVIEW)
    assert realtime_url(ga, "my-dep") == "wss://res.openai.azure.com/openai/v1/realtime?model=my-dep"
    assert realtime_url(beta, "my-dep") == (
        f"wss://res.openai.azure.com/openai/realtime?api-version={PREVIEW}&deployment=my-dep")


@pytest.mark.parametrize(("api_base", "scheme"), [
    ("http://127.0.0.1:8080", "ws"), ("ws://127.0.0.1:8080", "ws"), ("wss://gw.internal", "wss"),
    ("https://gw.internal/azure", "wss"),
])
def test_plain_and_secure_schemes(api_base: str, scheme: str) -> None:
    url = realtime_url(settings(api_base=api_base, realtime_protocol="GA"), "d")
    assert url.startswith(scheme + "://")
    assert url.endswith("/openai/v1/realtime?model=d")


def test_protocol_default_follows_api_version_like_litellm() -> None:
    assert settings(api_version=PREVIEW).realtime_protocol == "beta"
    assert settings().realtime_protocol == "GA"
    assert settings(api_version=PREVIEW, realtime_protocol="ga").realtime_protocol == "GA"
    assert settings(api_version=PREVIEW, realtime_protocol="v1").upstream_dialect == "ga"
    assert settings(api_version=PREVIEW, realtime_protocol="BETA").upstream_dialect == "beta"


def test_beta_needs_api_version() -> None:
    with pytest.raises(ValueError, match="api_version is required"):
        settings(realtime_protocol="beta")


def test_api_base_is_required() -> None:
    with pytest.raises(ValueError, match="api_base is required"):
        AzureSettings.model_validate({"model": "azure/dep", "api_key": "k"})


def test_key_goes_in_api_key_header() -> None:
    assert azure_headers(settings(api_key="secret-key")) == {"api-key": "secret-key"}


def test_entra_token_goes_in_authorization() -> None:
    assert azure_headers(settings(azure_ad_token="tok")) == {"Authorization": "Bearer tok"}


@pytest.mark.parametrize("extra", [
    {"azure_ad_token": "tok"},
    {"tenant_id": "t", "client_id": "c", "client_secret": "s"},
])
def test_key_and_entra_together_is_an_error(extra: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not both"):
        settings(api_key="k", **extra)


def test_incomplete_client_credentials() -> None:
    with pytest.raises(ValueError, match="must be given together"):
        settings(tenant_id="t", client_id="c")


def test_client_credentials_without_azure_identity_say_what_to_install() -> None:
    from rt_azure.provider import _has_azure_identity

    if _has_azure_identity():
        pytest.skip("azure-identity is installed")
    with pytest.raises(ValueError, match=r"rt-azure\[entra\]"):
        settings(tenant_id="t", client_id="c", client_secret="s")


def test_secrets_never_in_repr() -> None:
    s = settings(api_key="super-secret-key")
    assert "super-secret-key" not in repr(s)
    assert "super-secret-key" not in str(s.model_dump())


def providers() -> dict:
    import rt_azure.plugin

    return PluginHost(plugins={"azure": rt_azure.plugin}, env={"RT_DISABLE_PLUGIN_AUTOLOAD": "1"}).providers()


def test_entry_point_is_registered() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="rt.plugins") if e.name == "azure"]
    assert ep.value == "rt_azure.plugin"


def test_litellm_config_loads() -> None:
    cfg = load_config({"model_list": [{
        "model_name": "gpt-4o-realtime",
        "litellm_params": {"model": "azure/gpt-4o-realtime-preview", "api_key": "os.environ/AZURE_KEY",
                           "api_base": "os.environ/AZURE_BASE", "api_version": PREVIEW},
        "model_info": {"mode": "realtime"},
    }]}, providers(), env={"AZURE_KEY": "k", "AZURE_BASE": "https://r.openai.azure.com"})
    (dep,) = cfg.deployments
    assert dep.provider == "azure"
    assert dep.model == "gpt-4o-realtime-preview"
    assert dep.settings.realtime_protocol == "beta"
    assert not cfg.warnings


def test_config_error_names_the_path_and_never_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"model_list": [{"model_name": "x", "litellm_params": {
            "model": "azure/dep", "api_base": "https://r", "api_key": "key-123", "azure_ad_token": "tok-456"}}]},
            providers(), env={})
    text = str(info.value)
    assert "model_list[0].litellm_params" in text
    assert "not both" in text
    assert "key-123" not in text and "tok-456" not in text
