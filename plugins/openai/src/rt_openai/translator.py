"""The OpenAI passthrough translator.

GA upstream (the default): client events go upstream as the client wrote
them and upstream events go to the client as the upstream wrote them -- the
frame's original text, never re-serialised -- except ``session.update``,
whose non-GA ``temperature`` (kept by the edge for translated providers) is
removed.  Unknown event types pass both ways, so new OpenAI events keep
working through rt, and the upstream's own errors reach the client.

Beta upstream (``realtime_protocol: beta``, e.g. Azure preview deployments):
events are converted GA↔beta with ``rt_core.dialect``; the audio and text
deltas are renamed by string slicing, without a JSON parse.
"""

from __future__ import annotations

from typing import Any

from rt_core import (
    Action,
    ClientEventError,
    Event,
    Signal,
    ToClient,
    ToUpstream,
    UpstreamLost,
    dumps,
    error_event,
    peek_type,
)
from rt_core import dialect

#: GA session keys an OpenAI GA upstream rejects (the edge keeps them for others).
NON_GA_SESSION_KEYS = ("temperature",)
_GA_RENAMES = {beta: ga for ga, beta in dialect.BETA_RENAMES.items()}


class PassthroughTranslator:
    """Relays a session to an OpenAI-protocol upstream.

    :param upstream_dialect: ``"ga"`` or ``"beta"``.
    :param ids: the session's id factory (for rt's own error events).
    """

    def __init__(self, upstream_dialect: str = "ga", *, ids: Any = None) -> None:
        self.beta = upstream_dialect == "beta"
        self.ids = ids
        self.beta_state = dialect.BetaUpstreamState() if self.beta else None

    # ------------------------------------------------------------------ verbatim routes (docs/hooks.md)

    @property
    def verbatim_appends(self) -> bool:
        """Every audio append goes upstream as the client wrote it, with nothing
        else done: the relay may forward plain appends without calling
        :meth:`inbound`.  False in a subclass that overrides :meth:`inbound`
        (xAI counts the audio)."""
        return type(self).inbound is PassthroughTranslator.inbound

    @property
    def verbatim_outbound(self) -> bool:
        """Every upstream text frame whose type can be peeked goes to the client
        as the upstream wrote it (a GA upstream): the relay may pass such frames
        on without calling :meth:`outbound`.  False for a beta upstream and in a
        subclass that overrides :meth:`outbound`."""
        return not self.beta and type(self).outbound is PassthroughTranslator.outbound

    # ------------------------------------------------------------------ client → upstream

    def inbound(self, event: Event | Signal) -> list[Action]:
        if isinstance(event, Signal):
            return []
        t = event.type
        if t == "input_audio_buffer.append":
            return [ToUpstream(event.text)]
        if self.beta:
            data = dialect.client_to_beta(event.data)
            return [ToUpstream(event.text if data is event.data else dumps(data))]
        if t == "session.update":
            return [ToUpstream(self.session_update_text(event))]
        return [ToUpstream(event.text)]

    def session_update_text(self, event: Event) -> str:
        session = event.data.get("session")
        if isinstance(session, dict) and any(k in session for k in NON_GA_SESSION_KEYS):
            clean = {k: v for k, v in session.items() if k not in NON_GA_SESSION_KEYS}
            return dumps({**event.data, "session": clean})
        return event.text

    # ------------------------------------------------------------------ upstream → client

    def outbound(self, frame: Any) -> list[Action] | None:
        if isinstance(frame, Signal):
            return None if isinstance(frame, UpstreamLost) else []
        if isinstance(frame, (bytes, bytearray)):
            try:
                frame = bytes(frame).decode("utf-8")
            except UnicodeDecodeError:
                return [self._garbage("a binary frame that is not UTF-8 text")]
        if not self.beta:
            t = peek_type(frame)
            if t is not None:
                return [ToClient(Event(t, frame))]
        try:
            event = Event.from_text(frame)
        except ClientEventError as exc:
            return [self._garbage(exc.message)]
        if not self.beta:
            return [ToClient(event)]
        return [ToClient(e) for e in self.beta_events_to_ga(event)]

    def beta_events_to_ga(self, event: Event) -> list[Event | dict[str, Any]]:
        ga = _GA_RENAMES.get(event.type)
        if ga is not None:
            text = dialect.rename_type_in_text(event.text, event.type, ga)
            if text is not None:
                return [Event(ga, text)]
        out = dialect.server_to_ga(event.data, self.beta_state)
        return [Event.from_data(d) if d is not event.data else event for d in out]

    def _garbage(self, what: str) -> ToClient:
        return ToClient(error_event(
            f"The upstream sent an invalid frame ({what}); it was dropped.",
            code="upstream_invalid_frame", type="server_error", ids=self.ids,
        ))
