"""Fixtures for the rt-gemini tests: the fake Gemini Live server and configs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.gemini_live import FakeGeminiLive


@pytest.fixture
async def fake():
    f = FakeGeminiLive()
    async with f.running():
        yield f


def gemini_config(fake: FakeGeminiLive, *, model_name: str = "gemini-live", key: str = "test-key",
                  **params: Any) -> dict[str, Any]:
    """A LiteLLM-style config with one Gemini deployment pointed at the fake."""
    litellm_params = {"model": "gemini/gemini-live-2.5-flash-preview", "api_key": key, "api_base": fake.api_base,
                      "setup_grace": 0.2, **params}
    return {"model_list": [{"model_name": model_name, "litellm_params": litellm_params}]}
