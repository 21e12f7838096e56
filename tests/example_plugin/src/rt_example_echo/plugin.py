"""Provider ``echo``: replies to each ``response.create`` with the last user text.

Everything runs in-process: the upstream is a placeholder that never sends,
and the translator answers the client directly.  It exists to prove that a
separately installed distribution is discovered through the ``rt.plugins``
entry-point group and serves a model.
"""

from __future__ import annotations

from typing import Any

import anyio

from rt_core import Event, ProviderSpec, Signal, ToClient, UpstreamOpened, hookimpl


class NullUpstream:
    async def open(self) -> None:
        self._closed = anyio.Event()

    async def send(self, frame: Any) -> None:
        pass

    async def receive(self) -> Any:
        await self._closed.wait()
        from rt_core import UpstreamClosed

        raise UpstreamClosed(1000, "closed")

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        self._closed.set()


class EchoTranslator:
    def __init__(self, ids: Any) -> None:
        self.ids = ids
        self.last = ""

    def inbound(self, event: Event | Signal) -> list[Any]:
        if isinstance(event, Signal):
            return []
        if event.type == "conversation.item.create":
            for part in event.data.get("item", {}).get("content", []):
                if part.get("type") == "input_text":
                    self.last = part.get("text", "")
            return []
        if event.type == "response.create":
            rid = self.ids("resp")
            resp = {"id": rid, "object": "realtime.response", "status": "completed", "output": [],
                    "output_modalities": ["text"], "usage": None}
            return [
                ToClient({"type": "response.created", "event_id": self.ids("event"),
                          "response": {**resp, "status": "in_progress"}}),
                ToClient({"type": "response.output_text.delta", "event_id": self.ids("event"), "response_id": rid,
                          "item_id": "item_echo", "output_index": 0, "content_index": 0, "delta": f"echo: {self.last}"}),
                ToClient({"type": "response.done", "event_id": self.ids("event"), "response": resp}),
            ]
        return []

    def outbound(self, frame: Any) -> list[Any]:
        if isinstance(frame, UpstreamOpened):
            return [ToClient({"type": "session.created", "event_id": self.ids("event"), "session": {
                "type": "realtime", "object": "realtime.session", "id": "sess_echo", "model": "echo",
                "output_modalities": ["text"]}})]
        return []


@hookimpl
def rt_providers() -> list[ProviderSpec]:
    return [ProviderSpec(name="echo", description="echoes the last user text")]


@hookimpl
def create_translator(deployment: Any, session: Any) -> Any:
    return EchoTranslator(session.ids) if deployment.provider == "echo" else None


@hookimpl
def connect_upstream(deployment: Any, session: Any) -> Any:
    return NullUpstream() if deployment.provider == "echo" else None


@hookimpl
def translate_inbound(session: Any, event: Any) -> Any:
    return session.translator.inbound(event)


@hookimpl
def translate_outbound(session: Any, frame: Any) -> Any:
    return session.translator.outbound(frame)
