"""An official openai SDK client session through rt to a Gemini Live fake.

Shared by the rt-gemini and rt-vertex end-to-end tests (the Vertex fake speaks
the same protocol), so both drive sessions, and read replies, the same way.
Every event is read with :func:`tests.realtime_client.next_event`, which
validates it against the SDK's server-event union for the client's dialect.
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from tests.realtime_client import collect_until, next_event

#: Text-only sessions in each dialect (what most protocol tests need).
GA_TEXT = {"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."}
BETA_TEXT = {"modalities": ["text"], "instructions": "Be brief."}


def connect(gw: Any, dialect: str = "ga", model: str = "gemini-live") -> Any:
    """The SDK's realtime connection (GA or beta) to ``model`` on the gateway."""
    client = AsyncOpenAI(api_key="anything", base_url=gw.http_url, websocket_base_url=gw.ws_url)
    if dialect == "beta":
        return client.beta.realtime.connect(model=model)
    return client.realtime.connect(model=model)


async def start(conn: Any, dialect: str, session: dict[str, Any]) -> dict[str, Any]:
    """Read ``session.created``, apply ``session``, return the updated session."""
    created = await next_event(conn, dialect)
    assert created["type"] == "session.created", created
    await conn.session.update(session=session)
    updated = await next_event(conn, dialect)
    assert updated["type"] == "session.updated", updated
    return updated["session"]


def user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def text_turn(conn: Any, dialect: str, text: str) -> list[dict[str, Any]]:
    """A user text item and ``response.create``; the events up to ``response.done``."""
    await conn.conversation.item.create(item=user_text(text))
    await conn.response.create()
    return await collect_until(conn, dialect)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def reply_text(events: list[dict[str, Any]], dialect: str = "ga") -> str:
    """The text deltas of a text response."""
    kind = "response.text.delta" if dialect == "beta" else "response.output_text.delta"
    return "".join(e["delta"] for e in events if e["type"] == kind)


def transcript_text(events: list[dict[str, Any]], dialect: str = "ga") -> str:
    """The transcript deltas of an audio response."""
    kind = "response.audio_transcript.delta" if dialect == "beta" else "response.output_audio_transcript.delta"
    return "".join(e["delta"] for e in events if e["type"] == kind)
