"""Routing strategies and deployment health, deterministic: seeded RNG, fake clock."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from rt_core.config import RouterSettings
from rt_core.deployment import Deployment, DeploymentSettings
from rt_core.routing import HealthBook, get_strategy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dep(id_: str, group: str = "g", **params) -> Deployment:
    return Deployment(id=id_, model_name=group, provider="openai", model="m",
                      settings=DeploymentSettings(model="openai/m", **params))


def book(deps: list[Deployment], clock: FakeClock | None = None, **settings) -> HealthBook:
    sizes = Counter(d.model_name for d in deps)
    return HealthBook(RouterSettings(**settings), dict(sizes), clock or FakeClock())


def picks(strategy: str, deps: list[Deployment], health: HealthBook, n: int, seed: int = 7, **args) -> Counter:
    s = get_strategy(strategy, args)
    rng = random.Random(seed)
    return Counter(s.pick(deps, health, rng).id for _ in range(n))


# --------------------------------------------------------------------- simple-shuffle


def test_simple_shuffle_is_uniform_without_weights():
    deps = [dep("a"), dep("b"), dep("c")]
    c = picks("simple-shuffle", deps, book(deps), 3000)
    assert set(c) == {"a", "b", "c"}
    assert all(800 < n < 1200 for n in c.values())


def test_simple_shuffle_honours_weight():
    deps = [dep("a", weight=9), dep("b", weight=1)]
    c = picks("simple-shuffle", deps, book(deps), 2000)
    assert 1650 < c["a"] < 1950


def test_simple_shuffle_uses_rpm_as_weight_when_no_weight():
    deps = [dep("a", rpm=100), dep("b", rpm=300)]
    c = picks("simple-shuffle", deps, book(deps), 2000)
    assert 1350 < c["b"] < 1650


def test_simple_shuffle_without_the_weight_the_others_have_gets_none_but_is_still_a_candidate():
    deps = [dep("a", weight=1), dep("b")]
    assert picks("simple-shuffle", deps, book(deps), 200) == Counter({"a": 200})
    # Once "a" is used (failover), "b" alone is still picked.
    assert picks("simple-shuffle", [deps[1]], book(deps), 5) == Counter({"b": 5})


def test_same_seed_same_choices():
    deps = [dep("a"), dep("b"), dep("c")]
    s = get_strategy("simple-shuffle")
    h = book(deps)
    r1, r2 = random.Random(42), random.Random(42)
    assert [s.pick(deps, h, r1).id for _ in range(20)] == [s.pick(deps, h, r2).id for _ in range(20)]


# --------------------------------------------------------------------- least-busy / latency


def test_least_busy_picks_fewest_active_sessions():
    deps = [dep("a"), dep("b"), dep("c")]
    h = book(deps)
    h.acquire(deps[0])
    h.acquire(deps[0])
    h.acquire(deps[1])
    assert picks("least-busy", deps, h, 50) == Counter({"c": 50})
    h.acquire(deps[2])
    h.acquire(deps[2])
    assert picks("least-busy", deps, h, 50) == Counter({"b": 50})


def test_least_busy_breaks_ties_at_random():
    deps = [dep("a"), dep("b")]
    assert set(picks("least-busy", deps, book(deps), 100)) == {"a", "b"}


def test_latency_based_measures_unknown_deployments_first_then_prefers_the_fastest():
    deps = [dep("slow"), dep("fast"), dep("new")]
    h = book(deps)
    h.record_success(deps[0], 0.9)
    h.record_success(deps[1], 0.1)
    assert picks("latency-based-routing", deps, h, 20) == Counter({"new": 20})
    h.record_success(deps[2], 0.5)
    assert picks("latency-based-routing", deps, h, 20) == Counter({"fast": 20})


def test_latency_is_a_moving_average():
    deps = [dep("a"), dep("b")]
    h = book(deps)
    h.record_success(deps[0], 0.1)
    h.record_success(deps[1], 0.2)
    for _ in range(5):
        h.record_success(deps[0], 1.0)  # "a" got slow
    assert h.get(deps[0]).latency > 0.2
    assert picks("latency-based-routing", deps, h, 10) == Counter({"b": 10})


def test_latency_buffer_spreads_over_near_equal_deployments():
    deps = [dep("a"), dep("b"), dep("c")]
    h = book(deps)
    for d, lat in zip(deps, (0.100, 0.110, 0.5), strict=True):
        h.record_success(d, lat)
    assert picks("latency-based-routing", deps, h, 100) == Counter({"a": 100})
    c = picks("latency-based-routing", deps, h, 300, lowest_latency_buffer=0.2)
    assert set(c) == {"a", "b"}


def test_unknown_strategy_is_a_config_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown routing strategy"):
        RouterSettings(routing_strategy="round-robin-please")
    # LiteLLM strategies that do not apply to sessions fall back to simple-shuffle.
    assert RouterSettings(routing_strategy="usage-based-routing-v2").routing_strategy == "simple-shuffle"


# --------------------------------------------------------------------- health


def test_cooldown_after_allowed_fails_within_the_window_then_recovers():
    clock = FakeClock()
    deps = [dep("a"), dep("b")]
    h = book(deps, clock, allowed_fails=3, allowed_fails_window=60, cooldown_time=30)
    a = deps[0]
    assert not h.record_failure(a, "refused")
    clock.now += 61  # the first failure leaves the window
    assert not h.record_failure(a, "refused")
    assert not h.record_failure(a, "refused")
    assert h.skip_reason(a) is None
    assert h.record_failure(a, "refused")
    assert "cooling down" in h.skip_reason(a)
    assert h.cooldown_left(a) == pytest.approx(30)
    clock.now += 30.1
    assert h.skip_reason(a) is None
    # The failure count starts again from zero after a cooldown.
    assert not h.record_failure(a, "refused")


@pytest.mark.parametrize("status", [401, 403, 404, 429])
def test_refusals_that_retrying_cannot_fix_cool_down_at_once(status):
    deps = [dep("a"), dep("b")]
    h = book(deps, allowed_fails=5)
    assert h.record_failure(deps[0], f"HTTP {status}", status=status)
    assert h.skip_reason(deps[0]) is not None


def test_a_deployment_alone_in_its_group_is_never_cooled_down():
    deps = [dep("only", group="solo"), dep("x", group="other"), dep("y", group="other")]
    h = book(deps, allowed_fails=1)
    assert not h.record_failure(deps[0], "refused", status=429)
    assert h.skip_reason(deps[0]) is None


def test_cooldowns_can_be_disabled():
    deps = [dep("a"), dep("b")]
    h = book(deps, allowed_fails=1, disable_cooldowns=True)
    assert not h.record_failure(deps[0], "refused")
    assert h.skip_reason(deps[0]) is None


def test_max_parallel_requests_and_default():
    deps = [dep("a", max_parallel_requests=2), dep("b")]
    h = book(deps, default_max_parallel_requests=1)
    a, b = deps
    h.acquire(a)
    assert h.skip_reason(a) is None
    h.acquire(a)
    assert "max_parallel_requests (2" in h.skip_reason(a)
    h.release(a)
    assert h.skip_reason(a) is None
    h.acquire(b)
    assert "max_parallel_requests (1" in h.skip_reason(b)


def test_rpm_caps_new_sessions_per_minute():
    clock = FakeClock()
    deps = [dep("a", rpm=2), dep("b")]
    h = book(deps, clock)
    a = deps[0]
    h.acquire(a)
    h.release(a)
    h.acquire(a)
    h.release(a)
    assert "rpm (2" in h.skip_reason(a)
    clock.now += 60.5
    assert h.skip_reason(a) is None


def test_session_start_times_are_kept_for_one_minute_only():
    # Without rpm nothing reads them; they must not pile up over a long run.
    clock = FakeClock()
    deps = [dep("a"), dep("b", rpm=1000)]
    h = book(deps, clock)
    for _ in range(600):  # ten minutes, one session a second on each
        for d in deps:
            h.acquire(d)
            h.release(d)
        clock.now += 1
    for d in deps:
        assert len(h.get(d).starts) <= 61
    assert h.skip_reason(deps[1]) is None


def test_fallbacks_for_and_default_fallbacks():
    s = RouterSettings(fallbacks=[{"gpt-realtime": ["gemini-live", "mock"]}], default_fallbacks="mock")
    assert s.fallbacks_for("gpt-realtime") == ["gemini-live", "mock"]
    assert s.fallbacks_for("gemini-live") == ["mock"]
    assert s.fallbacks_for("mock") == []
    # LiteLLM also accepts a single group name per entry.
    assert RouterSettings(fallbacks=[{"a": "b"}]).fallbacks_for("a") == ["b"]
