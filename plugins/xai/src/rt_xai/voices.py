"""OpenAI voice names → xAI voices.

xAI's built-in voices are Ara, Eve, Leo, Rex and Sal (case-insensitive on
the wire); OpenAI clients ask for alloy … cedar.  Each OpenAI voice gets the
xAI voice nearest in register and tone, so a client written for OpenAI gets a
sensible voice instead of an error.  A name that is not an OpenAI voice (an
xAI voice, a custom voice id) is sent as given.  Deployments may override or
extend the table with ``voice_map``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["XAI_VOICES", "DEFAULT_VOICE_MAP", "XAI_DEFAULT_VOICE", "to_xai_voice"]

XAI_VOICES = ("ara", "eve", "leo", "rex", "sal")
#: What xAI uses when a session names no voice (xAI's quick-start and pipecat).
XAI_DEFAULT_VOICE = "eve"

DEFAULT_VOICE_MAP: Mapping[str, str] = {
    "alloy": "sal",    # neutral, balanced
    "ash": "rex",      # male, clear
    "ballad": "leo",   # male, expressive
    "coral": "ara",    # female, warm
    "echo": "leo",     # male, resonant
    "sage": "ara",     # female, calm
    "shimmer": "eve",  # female, bright
    "verse": "rex",    # male, versatile
    "marin": "eve",    # female, natural
    "cedar": "leo",    # male, natural
}


def to_xai_voice(voice: Any, table: Mapping[str, str]) -> Any:
    """The xAI voice for an OpenAI ``voice`` value (string or ``{"id": …}``)."""
    if isinstance(voice, dict) and isinstance(voice.get("id"), str):
        voice = voice["id"]
    if isinstance(voice, str):
        return table.get(voice.lower(), voice)
    return voice
