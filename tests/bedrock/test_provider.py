"""Deployment settings: LiteLLM keys, os.environ references, validation."""

from __future__ import annotations

import pytest

from rt_core import ConfigError
from rt_core.config import load_config
from rt_core.plugins import PluginHost

from rt_bedrock.provider import PROVIDER, BedrockSettings, model_id_of


def _providers():
    return PluginHost(env={}).providers()


def test_litellm_style_config_with_env_references():
    env = {"MY_KEY": "AKIDENV", "MY_SECRET": "s3cret"}
    cfg = load_config({"model_list": [{"model_name": "nova", "litellm_params": {
        "model": "bedrock/amazon.nova-sonic-v1:0", "aws_region_name": "eu-north-1",
        "aws_access_key_id": "os.environ/MY_KEY", "aws_secret_access_key": "os.environ/MY_SECRET",
        "continuation_after_s": 5}}]}, _providers(), env=env)
    (dep,) = cfg.groups["nova"]
    assert dep.provider == "bedrock" and model_id_of(dep.model) == "amazon.nova-sonic-v1:0"
    s = dep.settings
    assert isinstance(s, BedrockSettings)
    assert s.aws_access_key_id.get_secret_value() == "AKIDENV" and s.region == "eu-north-1"
    assert "s3cret" not in repr(s)
    assert s.deadline_s() == 6.25


def test_missing_env_and_half_credentials_are_config_errors():
    with pytest.raises(ConfigError, match="NOPE"):
        load_config({"model_list": [{"model_name": "n", "litellm_params": {
            "model": "bedrock/amazon.nova-2-sonic-v1:0", "aws_access_key_id": "os.environ/NOPE",
            "aws_secret_access_key": "x"}}]}, _providers(), env={})
    with pytest.raises(ConfigError):
        load_config({"model_list": [{"model_name": "n", "litellm_params": {
            "model": "bedrock/amazon.nova-2-sonic-v1:0", "aws_access_key_id": "AKID"}}]}, _providers(), env={})


def test_env_defaults_offer_nova_with_references_not_values():
    assert PROVIDER.env_defaults({}) == []
    (entry,) = PROVIDER.env_defaults({"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "zq9-value", "AWS_REGION": "us-west-2"})
    p = entry["litellm_params"]
    assert p["model"] == "bedrock/amazon.nova-2-sonic-v1:0"
    assert p["aws_secret_access_key"] == "os.environ/AWS_SECRET_ACCESS_KEY" and "zq9-value" not in str(entry)
