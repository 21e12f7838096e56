"""docs/providers/azure.md documents every Azure key."""

from __future__ import annotations

from pathlib import Path

from rt_azure.provider import AzureSettings
from rt_openai import OpenAISettings

DOC = (Path(__file__).parents[2] / "docs" / "providers" / "azure.md").read_text()


def test_every_azure_key_is_documented() -> None:
    own = set(AzureSettings.model_fields) - set(OpenAISettings.model_fields)
    own |= {"api_key", "api_base", "api_version", "realtime_protocol"}
    for key in own:
        assert f"`{key}`" in DOC, key
