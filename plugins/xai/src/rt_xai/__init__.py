"""rt-xai: the xAI Grok Voice Agent API as an rt provider (builds on rt-openai)."""

from .provider import XAISettings, xai_url
from .translator import XAITranslator
from .voices import DEFAULT_VOICE_MAP, XAI_VOICES

__all__ = ["DEFAULT_VOICE_MAP", "XAISettings", "XAITranslator", "XAI_VOICES", "xai_url"]
