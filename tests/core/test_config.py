"""Config loading: LiteLLM's format unchanged, the neutral spelling, env refs, errors with paths."""

from __future__ import annotations

import pytest

from rt_core import ConfigError, DeploymentSettings, ProviderSpec
from rt_core.config import load_config
from rt_openai.provider import OpenAISettings, realtime_url

PROVIDERS = {"openai": ProviderSpec("openai", OpenAISettings), "mock": ProviderSpec("mock", DeploymentSettings)}


def test_litellm_config_groups_and_env():
    cfg = load_config("""
model_list:
  - model_name: gpt-realtime
    litellm_params: {model: openai/gpt-realtime, api_key: os.environ/K1, api_base: "https://api.openai.com/v1"}
    model_info: {mode: realtime}
  - model_name: gpt-realtime
    litellm_params: {model: openai/gpt-realtime-mini, api_key: os.environ/K1, rpm: 10, weight: 2}
  - model_name: chat
    litellm_params: {model: openai/gpt-4o}
    model_info: {mode: chat}
litellm_settings: {logged_real_time_event_types: "*", gemini_live_defer_setup: true}
general_settings: {master_key: os.environ/MK}
router_settings: {routing_strategy: least-busy, num_retries: 2}
""", PROVIDERS, env={"K1": "sk-1", "MK": "mk"})
    assert list(cfg.groups) == ["gpt-realtime"]
    assert [d.model for d in cfg.groups["gpt-realtime"]] == ["gpt-realtime", "gpt-realtime-mini"]
    assert cfg.deployments[0].settings.api_key.get_secret_value() == "sk-1"
    assert cfg.gateway.master_key == "mk"
    assert cfg.gateway.logged_real_time_event_types == "*"
    assert cfg.router.routing_strategy == "least-busy" and cfg.router.num_retries == 2
    assert any("mode is 'chat'" in w for w in cfg.warnings)
    assert "sk-1" not in repr(cfg.deployments[0])


def test_neutral_spelling():
    cfg = load_config({"models": [{"model_name": "m", "params": {"model": "mock/x"}}],
                       "settings": {"connect_timeout": 3}}, PROVIDERS, env={})
    assert cfg.deployments[0].provider == "mock" and cfg.gateway.connect_timeout == 3


def test_unprefixed_model_is_openai_like_litellm():
    cfg = load_config({"model_list": [{"model_name": "m", "litellm_params": {"model": "gpt-realtime"}}]}, PROVIDERS, env={})
    assert cfg.deployments[0].provider == "openai"


@pytest.mark.parametrize("raw,path,needle", [
    ({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x", "api_key": "os.environ/NOPE"}}]},
     "model_list[0].litellm_params.api_key", "NOPE"),
    ({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}},
                     {"model_name": "b", "litellm_params": {"model": "openai/x", "timeout": -1}}]},
     "model_list[1].litellm_params.timeout", "greater than 0"),
    ({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x", "realtime_protocol": "v9"}}]},
     "model_list[0].litellm_params.realtime_protocol", "GA"),
    ({"model_list": [{"model_name": "a", "litellm_params": {"model": "zzz/x"}, "model_info": {"mode": "realtime"}}]},
     "model_list[0].litellm_params.model", "installed providers: mock, openai"),
    ({"model_list": [{"litellm_params": {"model": "openai/x"}}]}, "model_list[0].model_name", "required"),
    ({"model_list": [{"model_name": "a"}]}, "model_list[0].litellm_params", "required"),
    ({"model_list": "nope"}, "model_list", "list"),
    ({"general_settings": {"master_key": "os.environ/NOPE2"}}, "general_settings.master_key", "NOPE2"),
])
def test_errors_name_the_path(raw, path, needle):
    with pytest.raises(ConfigError) as info:
        load_config(raw, PROVIDERS, env={})
    assert info.value.path == path
    assert needle in str(info.value)


def test_unknown_provider_without_realtime_mode_is_skipped_with_warning():
    cfg = load_config({"model_list": [{"model_name": "c", "litellm_params": {"model": "anthropic/claude"}}]}, PROVIDERS, env={})
    assert cfg.deployments == [] and "unknown provider" in cfg.warnings[0]


def test_unknown_params_are_kept_and_warned():
    cfg = load_config({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x", "api_bse": "h"}}]},
                      PROVIDERS, env={})
    assert any("api_bse" in w for w in cfg.warnings)


def test_environment_variables_section_feeds_env_refs():
    cfg = load_config({"environment_variables": {"K": "v"},
                       "model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x", "api_key": "os.environ/K"}}]},
                      PROVIDERS, env={})
    assert cfg.deployments[0].settings.api_key.get_secret_value() == "v"


def test_default_config_has_mock_and_env_providers():
    from rt_openai.provider import env_defaults
    provs = {**PROVIDERS, "openai": ProviderSpec("openai", OpenAISettings, env_defaults=env_defaults)}
    assert load_config(None, provs, env={}).model_names == ["mock"]
    cfg = load_config(None, provs, env={"OPENAI_API_KEY": "sk-e"})
    assert cfg.model_names == ["mock", "gpt-realtime"]
    assert cfg.groups["gpt-realtime"][0].settings.api_key.get_secret_value() == "sk-e"


@pytest.mark.parametrize("base,url", [
    (None, "wss://api.openai.com/v1/realtime?model=m"),
    ("https://api.openai.com/v1", "wss://api.openai.com/v1/realtime?model=m"),
    ("https://api.openai.com/v1/", "wss://api.openai.com/v1/realtime?model=m"),
    ("http://127.0.0.1:9000", "ws://127.0.0.1:9000/v1/realtime?model=m"),
    ("http://127.0.0.1:9000/v1", "ws://127.0.0.1:9000/v1/realtime?model=m"),
    ("wss://proxy.example/openai/v1/realtime", "wss://proxy.example/openai/v1/realtime?model=m"),
    ("ws://h:1/v1/realtime?x=1", "ws://h:1/v1/realtime?x=1&model=m"),
    ("https://gw.example/openai/v1", "wss://gw.example/openai/v1/realtime?model=m"),
])
def test_openai_realtime_url_from_api_base(base, url):
    assert realtime_url(base, "m") == url
