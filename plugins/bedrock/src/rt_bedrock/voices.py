"""OpenAI voice names → Nova Sonic voice ids.

OpenAI clients name voices like ``alloy`` or ``marin``; Nova Sonic has its own
ids per language (AWS "Voices available for Amazon Nova Sonic": US English
``tiffany``/``matthew``, British ``amy``, French ``ambre``/``florian``, Italian
``beatrice``/``lorenzo``, German ``greta``/``lennart``, Spanish
``lupe``/``carlos``; Nova 2 Sonic adds more).  Each OpenAI voice maps to the US
English Nova voice of the same register; a Nova voice id given directly is
passed through, so clients can use every Nova voice (the service validates it).
"""

from __future__ import annotations

__all__ = ["OPENAI_TO_NOVA", "NOVA_VOICES", "DEFAULT_NOVA_VOICE", "nova_voice"]

DEFAULT_NOVA_VOICE = "matthew"

#: The table documented in docs/providers/bedrock.md.
OPENAI_TO_NOVA: dict[str, str] = {
    "alloy": "tiffany",
    "ash": "matthew",
    "ballad": "matthew",
    "coral": "tiffany",
    "echo": "matthew",
    "sage": "amy",
    "shimmer": "tiffany",
    "verse": "matthew",
    "marin": "tiffany",
    "cedar": "matthew",
}

#: Nova Sonic (v1) voice ids; Nova 2 Sonic accepts these and more.
NOVA_VOICES = frozenset(
    {"tiffany", "matthew", "amy", "ambre", "florian", "beatrice", "lorenzo", "greta", "lennart", "lupe", "carlos"}
)


def nova_voice(voice: object, default: str = DEFAULT_NOVA_VOICE) -> str:
    """The Nova voice id for an OpenAI voice (a name or ``{"id": …}``)."""
    if isinstance(voice, dict):
        voice = voice.get("id")
    if not isinstance(voice, str) or not voice:
        return default
    v = voice.strip().lower()
    return OPENAI_TO_NOVA.get(v, v)
