"""docs/providers/xai.md stays true: its voice table is the code's, every key is documented."""

from __future__ import annotations

import re
from pathlib import Path

from rt_openai import OpenAISettings
from rt_xai.provider import XAISettings
from rt_xai.voices import DEFAULT_VOICE_MAP

DOC = (Path(__file__).parents[2] / "docs" / "providers" / "xai.md").read_text()


def test_voice_table_matches_the_code() -> None:
    section = DOC.split("## Voices", 1)[1].split("##", 1)[0]
    pairs = dict(re.findall(r"\|\s*([a-z]+)\s*\|\s*([a-z]+)\s*\|", section))
    pairs.update(re.findall(r"\|\s*\|\s*([a-z]+)\s*\|\s*([a-z]+)\s*\|", section))
    pairs.pop("openai", None)
    assert pairs == dict(DEFAULT_VOICE_MAP)


def test_every_xai_key_is_documented() -> None:
    own = set(XAISettings.model_fields) - set(OpenAISettings.model_fields) | {"api_key", "api_base", "realtime_protocol"}
    for key in own:
        assert f"`{key}`" in DOC, key
