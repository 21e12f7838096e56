"""OpenAI voice names → Gemini Live prebuilt voices.

OpenAI clients name voices from OpenAI's set (``alloy`` … ``cedar``); Gemini
Live speaks with its own prebuilt voices (``Puck``, ``Kore`` …).  An OpenAI
name is mapped by :data:`OPENAI_TO_GEMINI` to the Gemini voice closest in
character (Google's published one-word descriptions, and the voice's register);
a Gemini name is passed through with Google's capitalisation; any other name is
passed through unchanged so voices Google adds later keep working (Gemini
rejects a name it does not know at setup, and the client gets that error).

The table is documented in ``docs/providers/gemini.md``; change both together.
"""

from __future__ import annotations

from typing import Final

__all__ = ["OPENAI_TO_GEMINI", "GEMINI_VOICES", "DEFAULT_OPENAI_VOICE", "gemini_voice"]

#: Gemini Live prebuilt voices and Google's one-word description of each.
GEMINI_VOICES: Final[dict[str, str]] = {
    "Zephyr": "Bright", "Puck": "Upbeat", "Charon": "Informative", "Kore": "Firm",
    "Fenrir": "Excitable", "Leda": "Youthful", "Orus": "Firm", "Aoede": "Breezy",
    "Callirrhoe": "Easy-going", "Autonoe": "Bright", "Enceladus": "Breathy", "Iapetus": "Clear",
    "Umbriel": "Easy-going", "Algieba": "Smooth", "Despina": "Smooth", "Erinome": "Clear",
    "Algenib": "Gravelly", "Rasalgethi": "Informative", "Laomedeia": "Upbeat", "Achernar": "Soft",
    "Alnilam": "Firm", "Schedar": "Even", "Gacrux": "Mature", "Pulcherrima": "Forward",
    "Achird": "Friendly", "Zubenelgenubi": "Casual", "Vindemiatrix": "Gentle", "Sadachbia": "Lively",
    "Sadaltager": "Knowledgeable", "Sulafat": "Warm",
}

#: OpenAI voice → Gemini voice (character and register matched by ear and description).
OPENAI_TO_GEMINI: Final[dict[str, str]] = {
    "alloy": "Kore",          # neutral, firm
    "ash": "Charon",          # clear, informative, lower register
    "ballad": "Algieba",      # smooth, expressive
    "coral": "Sulafat",       # warm
    "echo": "Enceladus",      # soft, breathy
    "sage": "Vindemiatrix",   # calm, gentle
    "shimmer": "Zephyr",      # bright
    "verse": "Puck",          # upbeat, expressive
    "marin": "Aoede",         # natural, breezy
    "cedar": "Orus",          # natural, firm, lower register
}

#: The voice OpenAI sessions start with when the client names none.
DEFAULT_OPENAI_VOICE: Final = "alloy"

_GEMINI_BY_LOWER: Final = {name.lower(): name for name in GEMINI_VOICES}


def gemini_voice(voice: str) -> str:
    """The Gemini prebuilt voice name for an OpenAI or Gemini voice name."""
    low = voice.strip().lower()
    mapped = OPENAI_TO_GEMINI.get(low)
    if mapped is not None:
        return mapped
    return _GEMINI_BY_LOWER.get(low, voice.strip())
