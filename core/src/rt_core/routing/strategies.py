"""Routing strategies: which deployment of a model group to try next.

Each strategy picks one deployment from the candidates that may be tried
now (the router has already removed those cooling down or at capacity, and
those tried before in this session).  The router calls ``pick`` again for
every failover attempt, so each attempt sees current load.

Names and behaviour follow LiteLLM's ``router_settings.routing_strategy``:

* ``simple-shuffle`` (default): random, weighted by ``weight`` when any
  deployment of the group sets it, else by ``rpm``, else by ``tpm``, else
  uniform.  As in LiteLLM a deployment without the weight the others have
  gets weight 0: it is still tried when the weighted ones fail.
* ``least-busy``: the fewest active sessions; ties broken at random.
* ``latency-based-routing``: the lowest moving average of connect plus
  first-event latency; deployments never measured count as 0 so each is
  measured once.  ``routing_strategy_args.lowest_latency_buffer`` (e.g.
  ``0.2``) picks at random among deployments within 20 % of the fastest.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..deployment import Deployment
    from .health import HealthBook

__all__ = ["Strategy", "SimpleShuffle", "LeastBusy", "LowestLatency", "STRATEGIES", "get_strategy"]


class Strategy(Protocol):
    name: str

    def pick(self, candidates: Sequence[Deployment], health: HealthBook, rng: random.Random) -> Deployment:
        """Choose one of ``candidates`` (never empty)."""
        ...


class SimpleShuffle:
    name = "simple-shuffle"

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        pass

    def pick(self, candidates: Sequence[Deployment], health: HealthBook, rng: random.Random) -> Deployment:
        weights = _weights(candidates)
        if weights is None:
            return rng.choice(list(candidates))
        return rng.choices(list(candidates), weights=weights, k=1)[0]


def _weights(candidates: Sequence[Deployment]) -> list[float] | None:
    for attr in ("weight", "rpm", "tpm"):
        values = [getattr(d.settings, attr) for d in candidates]
        if any(v is not None for v in values):
            w = [float(v or 0) for v in values]
            return w if sum(w) > 0 else None
    return None


class LeastBusy:
    name = "least-busy"

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        pass

    def pick(self, candidates: Sequence[Deployment], health: HealthBook, rng: random.Random) -> Deployment:
        fewest = min(health.get(d).active for d in candidates)
        return rng.choice([d for d in candidates if health.get(d).active == fewest])


class LowestLatency:
    name = "latency-based-routing"

    def __init__(self, args: Mapping[str, Any] | None = None) -> None:
        buffer = (args or {}).get("lowest_latency_buffer", 0.0)
        self.buffer = max(0.0, float(buffer or 0.0))

    def pick(self, candidates: Sequence[Deployment], health: HealthBook, rng: random.Random) -> Deployment:
        lat = {d.id: (health.get(d).latency or 0.0) for d in candidates}
        best = min(lat.values())
        limit = best * (1 + self.buffer)
        return rng.choice([d for d in candidates if lat[d.id] <= limit])


STRATEGIES: dict[str, type[SimpleShuffle] | type[LeastBusy] | type[LowestLatency]] = {
    s.name: s for s in (SimpleShuffle, LeastBusy, LowestLatency)
}


def get_strategy(name: str, args: Mapping[str, Any] | None = None) -> Strategy:
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown routing strategy {name!r}; use one of: {', '.join(STRATEGIES)}") from None
    return cls(args)
