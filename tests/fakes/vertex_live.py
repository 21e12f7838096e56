"""A fake Vertex AI Live endpoint: the fake Gemini Live server in its Vertex variant.

:class:`tests.fakes.gemini_live.FakeGeminiLive` with ``platform="vertex"``
already routes ``/ws/google.cloud.aiplatform.{v1,v1beta1}.LlmBidiService/BidiGenerateContent``,
reports usage with Vertex's names (``candidatesTokenCount`` …) and closes with
1007 on ``audioStreamEnd`` / ``willContinue``, as Vertex does.  This subclass
adds what Vertex checks that AI Studio does not:

* the ``Authorization: Bearer`` token must be one the fake OAuth endpoint
  issued and that has not expired (checked at every connection, so a token
  that expired mid-session is caught on the reconnect); express mode's
  ``x-goog-api-key`` is accepted when :attr:`FakeVertexLive.api_key` is set;
* ``setup.model`` must be a full resource name,
  ``projects/{p}/locations/{l}/publishers/google/models/{m}`` (or
  ``publishers/google/models/{m}`` on an express-mode connection): anything
  else is closed with 1007, as Vertex does (the base fake's
  :meth:`~tests.fakes.gemini_live.FakeGeminiLive.validate_setup` hook).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from websockets.datastructures import Headers

from tests.fakes.gemini_live import Connection, FakeGeminiLive
from tests.fakes.oauth_token import FakeOAuthServer

MODEL_RESOURCE = re.compile(r"^projects/[a-z0-9.:-]+/locations/[a-z0-9-]+/publishers/google/models/[\w.-]+$")
EXPRESS_MODEL = re.compile(r"^publishers/google/models/[\w.-]+$")


@dataclass
class FakeVertexLive(FakeGeminiLive):
    """Vertex AI Live on loopback; ``oauth`` decides which Bearer tokens are valid."""

    oauth: FakeOAuthServer | None = None
    api_key: str | None = None  # express mode key; None = OAuth only
    platform: str = "vertex"

    def _authorized(self, headers: Headers) -> bool:
        token = _bearer(headers.get("Authorization"))
        if token is not None:
            if self.oauth is not None:
                return self.oauth.is_valid(token)
            return self.bearer_token is None or token == self.bearer_token
        if self.api_key is not None:
            return headers.get("x-goog-api-key") == self.api_key
        return False

    def validate_setup(self, setup: dict[str, Any], conn: Connection) -> None:
        express = _bearer(conn.headers.get("authorization")) is None
        pattern, form = (EXPRESS_MODEL, "publishers/google/models/{model}") if express else (
            MODEL_RESOURCE, "projects/{project}/locations/{location}/publishers/google/models/{model}")
        model = setup.get("model")
        if not (isinstance(model, str) and pattern.match(model)):
            raise ValueError(f"setup.model must be {form}, got {model!r}")

    def bearer(self, index: int) -> str | None:
        """The token connection ``index`` presented."""
        return _bearer(self.connections[index].headers.get("authorization"))


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization[len("Bearer "):]
    return None
