"""Routing pieces the :class:`~rt_core.router.Router` composes.

* :mod:`.health` -- per-deployment live state: active sessions, recent
  session starts (``rpm``), failures and cooldowns, connect latency.
* :mod:`.strategies` -- how the next deployment is picked from a group:
  ``simple-shuffle``, ``least-busy``, ``latency-based-routing``.

Both are pure (no I/O, injected clock and RNG), so they are unit-tested
deterministically; the router does the connecting.
"""

from __future__ import annotations

from .health import DeploymentHealth, HealthBook
from .strategies import STRATEGIES, Strategy, get_strategy

__all__ = ["DeploymentHealth", "HealthBook", "STRATEGIES", "Strategy", "get_strategy"]
