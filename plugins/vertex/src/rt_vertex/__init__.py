"""rt-vertex: OpenAI Realtime clients on Gemini Live on Vertex AI.

The protocol is rt-gemini's (its translator runs with ``platform="vertex"``);
this package adds Google Cloud authentication (:mod:`rt_vertex.auth`), the
Vertex endpoints and the model resource names (:mod:`rt_vertex.provider`).
"""

from __future__ import annotations

from .auth import CLOUD_PLATFORM_SCOPE, CredentialSource, GoogleTokenSource, VertexAuthError
from .provider import VertexSettings, live_url, model_resource
from .upstream import VertexUpstream

__all__ = [
    "CLOUD_PLATFORM_SCOPE", "CredentialSource", "GoogleTokenSource", "VertexAuthError", "VertexSettings",
    "VertexUpstream", "live_url", "model_resource",
]
__version__ = "0.1.0"
