"""A fake Azure OpenAI realtime resource on loopback.

Azure serves the OpenAI Realtime protocol, so the conversation behaviour is the
fake OpenAI server's (:mod:`tests.fakes.openai_realtime`); what differs, and
what this fake adds, is the resource around it:

* two URL forms -- the preview endpoint
  ``/openai/realtime?api-version=V&deployment=D`` speaking **beta** events,
  and the v1 endpoint ``/openai/v1/realtime?model=D`` speaking **GA** events
  (the dialect comes from the path, not from an ``OpenAI-Beta`` header);
* auth by ``api-key`` header (or Entra ``Authorization: Bearer``); a request
  carrying both is refused, so a client sending both is caught;
* handshake refusals as Azure sends them: an HTTP 4xx JSON body
  ``{"error": {"code", "message"}}`` with an ``apim-request-id`` header, for a
  wrong key (401), an unknown deployment (404, ``DeploymentNotFound``) and a
  missing ``api-version`` on the preview path (404, as Azure's gateway does).

Every received frame is validated against the openai SDK's client-event
union of the connection's dialect (by the base class).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from tests.fakes.openai_realtime import Connection, FakeOpenAI, _Session

PREVIEW_PATH = "/openai/realtime"
V1_PATH = "/openai/v1/realtime"

AZURE_401 = ("401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                    "a valid key for an active subscription and use a correct regional API endpoint for your resource.")
AZURE_404_DEPLOYMENT = ("DeploymentNotFound", "The API deployment for this resource does not exist. If you created "
                        "the deployment within the last 5 minutes, please wait a moment and try again.")
AZURE_404_RESOURCE = ("404", "Resource not found")


def azure_error(status: int, code: str, message: str) -> Response:
    """An HTTP error response shaped like Azure API Management's."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, "Error", Headers([
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("apim-request-id", str(uuid.uuid4())),
    ]), body)


@dataclass
class FakeAzure(FakeOpenAI):
    """A fake Azure resource.  ``deployments`` are the deployment names it has;
    ``api_key`` / ``bearer_token`` the credentials it accepts (None: not accepted)."""

    api_key: str | None = "azure-key"
    bearer_token: str | None = None
    deployments: set[str] = field(default_factory=lambda: {"gpt-realtime-dep"})
    refusals: list[tuple[int, str]] = field(default_factory=list)

    @property
    def api_base(self) -> str:  # the resource endpoint, as users configure it
        return f"http://127.0.0.1:{self.port}"

    def _refuse(self, status: int, code: str, message: str) -> Response:
        self.refusals.append((status, code))
        return azure_error(status, code, message)

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        if self.refuse_status is not None:
            return self._refuse(self.refuse_status, "ServiceUnavailable" if self.refuse_status >= 500 else "BadRequest",
                                f"fake Azure refused with {self.refuse_status}")
        headers = request.headers
        key = headers.get("api-key")
        auth = headers.get("Authorization")
        if key is not None and auth is not None:
            return self._refuse(400, "BadRequest", "Send either an api-key header or an Authorization header, not both.")
        key_ok = self.api_key is not None and key == self.api_key
        token_ok = self.bearer_token is not None and auth == f"Bearer {self.bearer_token}"
        if not (key_ok or token_ok):
            return self._refuse(401, *AZURE_401)
        if parts.path == PREVIEW_PATH:
            if not query.get("api-version"):
                return self._refuse(404, *AZURE_404_RESOURCE)
            deployment = (query.get("deployment") or [None])[0]
        elif parts.path == V1_PATH:
            deployment = (query.get("model") or [None])[0]
        else:
            return self._refuse(404, *AZURE_404_RESOURCE)
        if deployment not in self.deployments:
            return self._refuse(404, *AZURE_404_DEPLOYMENT)
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        req = ws.request
        assert req is not None
        beta = urlsplit(req.path).path == PREVIEW_PATH
        conn = Connection(req.path, dict(req.headers.raw_items()), beta)
        self.connections.append(conn)
        await _AzureSession(self, ws, conn).run()


class _AzureSession(_Session):
    """The fake OpenAI conversation, with the preview endpoint's beta events
    exactly as the beta SDK types them (no ``name`` in
    ``response.function_call_arguments.done``)."""

    def _to_beta(self, event: dict[str, Any]) -> dict[str, Any] | None:
        out = super()._to_beta(event)
        if out is not None and out["type"] == "response.function_call_arguments.done":
            out = {k: v for k, v in out.items() if k != "name"}
        return out
