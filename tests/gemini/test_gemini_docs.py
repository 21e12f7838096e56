"""docs/providers/gemini.md stays complete: every OpenAI event, voice and config key."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from openai.types.realtime import realtime_client_event, realtime_server_event
from rt_gemini.provider import GeminiSettings
from rt_gemini.voices import OPENAI_TO_GEMINI
from rt_core import DeploymentSettings

DOC = (Path(__file__).parents[2] / "docs" / "providers" / "gemini.md").read_text()


def _types(union: object) -> set[str]:
    args = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        args = typing.get_args(args[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in args}


def _documented() -> str:
    # "`response.output_audio.delta` / `.done`" documents both events.
    text = DOC
    for m in re.finditer(r"`([a-z_.]+)\.([a-z_]+)` / `\.([a-z_]+)`", DOC):
        text += f" `{m.group(1)}.{m.group(3)}`"
    for m in re.finditer(r"`([a-z_.]+)\.([a-z_]+)` / `\.([a-z_]+)` / `\.([a-z_]+)`", DOC):
        text += f" `{m.group(1)}.{m.group(4)}`"
    return text


def test_every_client_event_is_documented():
    text = _documented()
    missing = [t for t in sorted(_types(realtime_client_event.RealtimeClientEvent)) if f"`{t}`" not in text]
    assert not missing, f"add these client events to docs/providers/gemini.md: {missing}"


def test_every_server_event_is_documented():
    text = _documented()
    missing = [t for t in sorted(_types(realtime_server_event.RealtimeServerEvent)) if f"`{t}`" not in text]
    assert not missing, f"add these server events to docs/providers/gemini.md: {missing}"


def test_voice_table_matches_the_code():
    for openai, gemini in OPENAI_TO_GEMINI.items():
        assert re.search(rf"\| `{openai}` \| `{gemini}` \|", DOC), f"voice {openai} → {gemini} not in the doc table"


def test_every_config_key_is_documented():
    own = set(GeminiSettings.model_fields) - set(DeploymentSettings.model_fields)
    missing = [k for k in sorted(own | {"api_key", "api_base", "api_version"}) if f"| `{k}` |" not in DOC]
    assert not missing, f"document these litellm_params keys: {missing}"
