"""rt-azure: Azure OpenAI realtime provider for rt (builds on rt-openai)."""

from .provider import AzureSettings, azure_headers, realtime_url
from .translator import AzureTranslator
from .upstream import AzureUpstream

__all__ = ["AzureSettings", "AzureTranslator", "AzureUpstream", "azure_headers", "realtime_url"]
