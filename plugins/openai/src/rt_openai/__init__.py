"""rt-openai: OpenAI Realtime passthrough provider for rt."""

from .provider import OpenAISettings, realtime_url
from .translator import PassthroughTranslator

__all__ = ["OpenAISettings", "PassthroughTranslator", "realtime_url"]
