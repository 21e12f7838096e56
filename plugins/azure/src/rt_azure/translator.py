"""The Azure translator: rt-openai's passthrough, remembering beta-upstream state.

Azure's GA (v1) endpoint speaks the GA dialect: frames pass through untouched,
exactly as with OpenAI.  Its preview endpoint speaks beta; rt-openai's
:class:`~rt_openai.PassthroughTranslator` converts it, and this subclass adds
one :class:`rt_core.dialect.BetaUpstreamState` per session so GA clients also
get what beta never sends: ``conversation.item.done`` for response items and
``name`` in ``response.function_call_arguments.done``.
"""

from __future__ import annotations

from typing import Any

from rt_core import Event
from rt_core import dialect
from rt_openai import PassthroughTranslator

__all__ = ["AzureTranslator"]


class AzureTranslator(PassthroughTranslator):
    """:param upstream_dialect: ``"ga"`` (v1 endpoint) or ``"beta"`` (preview endpoint)."""

    def __init__(self, upstream_dialect: str = "ga", *, ids: Any = None) -> None:
        super().__init__(upstream_dialect, ids=ids)
        self.state = dialect.BetaUpstreamState()

    def beta_events_to_ga(self, event: Event) -> list[Event | dict[str, Any]]:
        ga = dialect.GA_RENAMES.get(event.type)
        if ga is not None:  # the hot deltas: renamed by slicing, never parsed
            text = dialect.rename_type_in_text(event.text, event.type, ga)
            if text is not None:
                return [Event(ga, text)]
        out = dialect.server_to_ga(event.data, self.state)
        return [Event.from_data(d) if d is not event.data else event for d in out]
