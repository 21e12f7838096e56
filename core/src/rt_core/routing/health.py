"""Per-deployment live state: what the router knows about each deployment.

Kept by one :class:`HealthBook` per gateway and only touched from the event
loop (no locks).  It answers "may this deployment be tried now?" -- not
cooling down, under ``max_parallel_requests`` and under ``rpm`` -- and keeps
the numbers the strategies read: active sessions (``least-busy``) and a
moving average of the time to a usable session (``latency-based-routing``).

Cooldown follows LiteLLM: ``allowed_fails`` failures within
``allowed_fails_window`` seconds put a deployment aside for
``cooldown_time`` seconds; a refusal that will not fix itself by retrying
(HTTP 401, 403, 404, 429) puts it aside at once.  A deployment alone in its
group is never cooled down: skipping it would only turn "try" into "refuse",
and it may come back at any moment.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import RouterSettings
    from ..deployment import Deployment

__all__ = ["DeploymentHealth", "HealthBook", "IMMEDIATE_COOLDOWN_STATUSES"]

#: Handshake statuses that cool a deployment down on the first failure.
IMMEDIATE_COOLDOWN_STATUSES = frozenset({401, 403, 404, 429})
#: Weight of the newest sample in the latency moving average.
LATENCY_ALPHA = 0.3
RPM_WINDOW = 60.0


@dataclass
class DeploymentHealth:
    """What the router knows about one deployment right now.

    :ivar active: sessions holding a slot (connecting, or open).
    :ivar latency: moving average of seconds from "try" to "usable"
        (connect plus the first upstream event), ``None`` before any success.
    """

    deployment_id: str
    active: int = 0
    starts: deque[float] = field(default_factory=deque)
    failures: deque[float] = field(default_factory=deque)
    cooldown_until: float = 0.0
    latency: float | None = None
    successes: int = 0
    total_failures: int = 0
    cooldowns: int = 0
    last_error: str | None = None

    def snapshot(self, now: float) -> dict[str, object]:
        """A JSON-friendly view (for logs, tests and a future status page)."""
        return {
            "deployment_id": self.deployment_id,
            "active": self.active,
            "cooling_down_s": round(max(0.0, self.cooldown_until - now), 3),
            "recent_failures": len(self.failures),
            "total_failures": self.total_failures,
            "cooldowns": self.cooldowns,
            "successes": self.successes,
            "latency_s": None if self.latency is None else round(self.latency, 4),
            "last_error": self.last_error,
        }


class HealthBook:
    """The :class:`DeploymentHealth` of every deployment, with the rules that use it."""

    def __init__(self, settings: RouterSettings, group_sizes: dict[str, int],
                 clock: Callable[[], float]) -> None:
        self.settings = settings
        self.group_sizes = group_sizes
        self.clock = clock
        self._by_id: dict[str, DeploymentHealth] = {}

    def get(self, dep: Deployment) -> DeploymentHealth:
        h = self._by_id.get(dep.id)
        if h is None:
            h = self._by_id[dep.id] = DeploymentHealth(dep.id)
        return h

    # ------------------------------------------------------------------ eligibility

    def max_parallel(self, dep: Deployment) -> int | None:
        return dep.settings.max_parallel_requests or self.settings.default_max_parallel_requests

    def cooldown_left(self, dep: Deployment) -> float:
        return max(0.0, self.get(dep).cooldown_until - self.clock())

    def skip_reason(self, dep: Deployment) -> str | None:
        """Why ``dep`` may not be tried now, or ``None`` when it may."""
        h = self.get(dep)
        now = self.clock()
        if h.cooldown_until > now:
            return f"cooling down for {h.cooldown_until - now:.1f} s more after repeated failures"
        cap = self.max_parallel(dep)
        if cap is not None and h.active >= cap:
            return f"at max_parallel_requests ({cap} sessions)"
        rpm = dep.settings.rpm
        if rpm is not None:
            self._trim(h.starts, now - RPM_WINDOW)
            if len(h.starts) >= rpm:
                return f"at rpm ({rpm} new sessions per minute)"
        return None

    # ------------------------------------------------------------------ bookkeeping

    def acquire(self, dep: Deployment) -> None:
        """A session starts using ``dep`` (an attempt counts: it holds capacity)."""
        h = self.get(dep)
        h.active += 1
        if dep.settings.rpm is not None:
            # Only rpm reads them, and only the last minute's.
            now = self.clock()
            h.starts.append(now)
            self._trim(h.starts, now - RPM_WINDOW)

    def release(self, dep: Deployment) -> None:
        h = self.get(dep)
        h.active = max(0, h.active - 1)

    def record_success(self, dep: Deployment, seconds: float) -> None:
        h = self.get(dep)
        h.successes += 1
        h.latency = seconds if h.latency is None else (1 - LATENCY_ALPHA) * h.latency + LATENCY_ALPHA * seconds

    def record_failure(self, dep: Deployment, reason: str, *, status: int | None = None) -> bool:
        """Count a failed attempt; return True when it starts a cooldown."""
        h = self.get(dep)
        now = self.clock()
        h.total_failures += 1
        h.last_error = reason
        s = self.settings
        self._trim(h.failures, now - s.allowed_fails_window)
        h.failures.append(now)
        if s.disable_cooldowns or s.cooldown_time <= 0 or self.group_sizes.get(dep.model_name, 1) <= 1:
            return False
        if status in IMMEDIATE_COOLDOWN_STATUSES or len(h.failures) >= s.allowed_fails:
            h.cooldown_until = now + s.cooldown_time
            h.cooldowns += 1
            h.failures.clear()
            return True
        return False

    def snapshot(self) -> dict[str, dict[str, object]]:
        now = self.clock()
        return {k: h.snapshot(now) for k, h in self._by_id.items()}

    @staticmethod
    def _trim(times: deque[float], horizon: float) -> None:
        while times and times[0] <= horizon:
            times.popleft()
