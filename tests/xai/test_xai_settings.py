"""rt-xai configuration: LiteLLM keys, URL, auth, defaults."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

import rt_xai.plugin
from rt_core import ConfigError
from rt_core.config import load_config
from rt_core.plugins import PluginHost
from rt_xai.provider import XAISettings, env_defaults, xai_url
from rt_openai.provider import openai_headers


def providers() -> dict:
    return PluginHost(plugins={"xai": rt_xai.plugin}, env={"RT_DISABLE_PLUGIN_AUTOLOAD": "1"}).providers()


def test_entry_point_is_registered() -> None:
    (ep,) = [e for e in entry_points(group="rt.plugins") if e.name == "xai"]
    assert ep.value == "rt_xai.plugin"


@pytest.mark.parametrize(("api_base", "url"), [
    (None, "wss://api.x.ai/v1/realtime?model=grok-voice-latest"),
    ("https://api.x.ai/v1", "wss://api.x.ai/v1/realtime?model=grok-voice-latest"),
    ("http://127.0.0.1:9000", "ws://127.0.0.1:9000/v1/realtime?model=grok-voice-latest"),
    ("wss://proxy.internal/xai/v1/realtime", "wss://proxy.internal/xai/v1/realtime?model=grok-voice-latest"),
])
def test_url(api_base: str | None, url: str) -> None:
    assert xai_url(XAISettings(model="xai/grok-voice-latest", api_base=api_base), "grok-voice-latest") == url


def test_bearer_auth() -> None:
    assert openai_headers(XAISettings(model="xai/m", api_key="xai-k")) == {"Authorization": "Bearer xai-k"}


def test_beta_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="only the GA"):
        XAISettings(model="xai/m", realtime_protocol="beta")
    assert XAISettings(model="xai/m", realtime_protocol="ga").realtime_protocol == "GA"


def test_options() -> None:
    s = XAISettings(model="xai/m", voice_map={"Alloy": "rex"}, semantic_vad="server_vad")
    assert s.voice_map == {"alloy": "rex"}
    with pytest.raises(ValueError):
        XAISettings(model="xai/m", semantic_vad="sometimes")


def test_env_default_model_only_with_a_key() -> None:
    assert env_defaults({}) == []
    (entry,) = env_defaults({"XAI_API_KEY": "k"})
    assert entry["litellm_params"] == {"model": "xai/grok-voice-latest", "api_key": "os.environ/XAI_API_KEY"}


def test_litellm_config_loads_and_errors_name_the_path() -> None:
    cfg = load_config({"model_list": [{"model_name": "grok", "litellm_params": {
        "model": "xai/grok-voice-think-fast-1.0", "api_key": "os.environ/XAI_API_KEY"}}]},
        providers(), env={"XAI_API_KEY": "k"})
    (dep,) = cfg.deployments
    assert (dep.provider, dep.model) == ("xai", "grok-voice-think-fast-1.0")
    with pytest.raises(ConfigError, match=r"model_list\[0\]\.litellm_params\.semantic_vad"):
        load_config({"model_list": [{"model_name": "grok", "litellm_params": {
            "model": "xai/m", "semantic_vad": "maybe"}}]}, providers(), env={})
