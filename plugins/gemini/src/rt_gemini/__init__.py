"""rt-gemini: OpenAI Realtime clients on Gemini Live (Google AI Studio).

The translator (:mod:`rt_gemini.translator`) and upstream
(:mod:`rt_gemini.upstream`) are reused by rt-vertex, which supplies its own
URL, headers and model name and sets ``platform="vertex"``.
"""

from __future__ import annotations

from .session_config import SessionConfig, SetupOptions
from .translator import GeminiTranslator, TranslatorOptions
from .upstream import ConnectionDropped, GeminiUpstream, Reconnect, Reconnected

__all__ = [
    "ConnectionDropped", "GeminiTranslator", "GeminiUpstream", "Reconnect", "Reconnected",
    "SessionConfig", "SetupOptions", "TranslatorOptions",
]
__version__ = "0.1.0"
