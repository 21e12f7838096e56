"""rt-gemini: OpenAI Realtime clients on Gemini Live (Google AI Studio).

rt-vertex reuses this package through its public seams: the settings and
:func:`rt_gemini.provider.translator_options` (with ``platform="vertex"``), the
translator (:mod:`rt_gemini.translator`) and the upstream
(:mod:`rt_gemini.upstream`, whose ``refresh_headers`` renews credentials before
every connection); it supplies its own URL, headers and model name.
"""

from __future__ import annotations

from .session_config import SessionConfig, SetupOptions
from .translator import GeminiTranslator, TranslatorOptions
from .upstream import ConnectionDropped, GeminiUpstream, Reconnect, Reconnected, ReconnectFailed

__all__ = [
    "ConnectionDropped", "GeminiTranslator", "GeminiUpstream", "Reconnect", "ReconnectFailed", "Reconnected",
    "SessionConfig", "SetupOptions", "TranslatorOptions",
]
__version__ = "0.1.0"
