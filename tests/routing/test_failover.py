"""Failover at connect, end to end: the official openai SDK through the gateway
to loopback upstreams that are dead, refuse, or fail before the session is
usable.  The client must never see a failed attempt, and when everything
fails it must get one clear error and close 1013/1014, never a hang."""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from rt_core import hookimpl
from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway
from tests.realtime_client import collect_until, next_event, validate_server_event
from tests.routing.upstreams import BadUpstream, dead_base

pytestmark = pytest.mark.anyio

UPSTREAM_KEY = "sk-upstream"
CLIENT_KEY = "sk-client-secret-1234"


class Capture:
    """An ``on_log_event`` plugin that keeps every record."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    @hookimpl
    def on_log_event(self, record: Any) -> None:
        self.records.append(record)

    def starts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.records if r.kind == "session.start"]


def deployment(id_: str, api_base: str, group: str = "gpt-realtime", **params: Any) -> dict[str, Any]:
    return {"model_name": group, "model_info": {"id": id_},
            "litellm_params": {"model": "openai/gpt-realtime", "api_key": UPSTREAM_KEY, "api_base": api_base,
                               **params}}


def config(*entries: dict[str, Any], router: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"model_list": list(entries), "router_settings": router or {}, **extra}


def sdk(gw: Any) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=CLIENT_KEY, base_url=gw.http_url, websocket_base_url=gw.ws_url)


async def text_turn(gw: Any, model: str = "gpt-realtime", text: str = "hello") -> list[dict[str, Any]]:
    """One session with one text response; every event validated (GA)."""
    async with sdk(gw).realtime.connect(model=model) as conn:
        first = await next_event(conn, "ga")
        assert first["type"] == "session.created", first
        await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                  "content": [{"type": "input_text", "text": text}]})
        await conn.response.create(response={"output_modalities": ["text"]})
        events = await collect_until(conn, "ga")
    events.insert(0, first)
    assert not [e for e in events if e["type"] == "error"], events
    assert events[-1]["response"]["status"] == "completed"
    return events


async def refused(gw: Any, model: str = "gpt-realtime") -> tuple[dict[str, Any], int]:
    """Connect with a raw client; return the one error event and the close code."""
    async with ws_connect(gw.realtime_url(model), additional_headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as ws:
        with anyio.fail_after(10):
            err = json.loads(await ws.recv())
            validate_server_event(err, "ga")
            try:
                extra = await ws.recv()
                raise AssertionError(f"more than one event: {extra!r}")
            except ConnectionClosed as exc:
                return err, exc.rcvd.code if exc.rcvd else 1006


def seed(gw: Any, n: int = 1) -> None:
    gw.gateway.router.rng = random.Random(n)


# ------------------------------------------------------------------ dead + live


async def test_one_dead_one_live_20_concurrent_sessions_all_succeed_and_dead_cools_down():
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    cap = Capture()
    async with fake.running():
        cfg = config(deployment("dead", dead_base()), deployment("live", fake.api_base),
                     router={"allowed_fails": 3, "cooldown_time": 60})
        async with running_gateway(cfg, plugins={"capture": cap}) as gw:
            seed(gw)
            done: list[list[dict[str, Any]]] = []

            async def one(i: int) -> None:
                done.append(await text_turn(gw, text=f"hello {i}"))

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for i in range(20):
                        tg.start_soon(one, i)
            router = gw.gateway.router
            dead = next(d for d in router.candidates("gpt-realtime") if d.id == "dead")
            health = router.health.get(dead)
            assert router.health.cooldown_left(dead) > 50
            assert health.cooldowns >= 1 and health.total_failures >= 3
            assert health.active == 0 and router.health.get(router.candidates("gpt-realtime")[1]).active == 0
    assert len(done) == 20
    texts = sorted("".join(e["delta"] for e in ev if e["type"] == "response.output_text.delta") for ev in done)
    assert texts == sorted(f"You said: hello {i}" for i in range(20))
    assert len(fake.connections) == 20 and not fake.invalid
    starts = cap.starts()
    assert len(starts) == 20
    assert {s["payload"]["routing"]["deployment_id"] for s in starts} == {"live"}
    failed = [a for s in starts for a in s["payload"]["routing"]["attempts"] if not a["ok"]]
    assert len(failed) == health.total_failures
    assert all("dead" in a["deployment"] and "could not be reached" in a["error"] for a in failed)


async def test_sequential_sessions_dead_is_tried_exactly_allowed_fails_times():
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running():
        cfg = config(deployment("dead", dead_base()), deployment("live", fake.api_base),
                     router={"allowed_fails": 2, "cooldown_time": 60})
        async with running_gateway(cfg) as gw:
            seed(gw, 3)
            for i in range(12):
                await text_turn(gw, text=f"turn {i}")
            router = gw.gateway.router
            dead = router.candidates("gpt-realtime")[0]
            h = router.health.get(dead)
            assert (h.total_failures, h.cooldowns) == (2, 1)
            assert "cooling down" in router.health.skip_reason(dead)
    assert len(fake.connections) == 12


# ------------------------------------------------------------------ failing before usable


@pytest.mark.parametrize("mode,reason", [
    ("close", "closed the connection before its first event (code 1011: fake upstream overloaded)"),
    ("error", "sent an error before the session was usable: The server is overloaded (fake)."),
    ("silent", "sent no first event within 0.5 s"),
])
async def test_upstream_failing_after_the_handshake_is_failed_over_invisibly(mode, reason):
    bad = BadUpstream(mode)
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    cap = Capture()
    async with bad.running(), fake.running():
        # weight 1 vs 0: the bad deployment is always tried first.
        cfg = config(deployment("bad", bad.api_base, weight=1, timeout=0.5),
                     deployment("good", fake.api_base, weight=0))
        async with running_gateway(cfg, plugins={"capture": cap}) as gw:
            events = await text_turn(gw)
    assert events[0]["session"]["id"] == "sess_fake"  # the good upstream's own session.created
    assert bad.connections == 1 and len(fake.connections) == 1
    routing = cap.starts()[0]["payload"]["routing"]
    assert routing["deployment_id"] == "good"
    assert [a["ok"] for a in routing["attempts"]] == [False, True]
    assert reason in routing["attempts"][0]["error"]


async def test_handshake_refusal_fails_over_and_429_cools_down_at_once():
    refusing = FakeOpenAI(api_key=UPSTREAM_KEY, refuse_status=429)
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with refusing.running(), fake.running():
        cfg = config(deployment("limited", refusing.api_base, weight=1), deployment("good", fake.api_base, weight=0))
        async with running_gateway(cfg) as gw:
            await text_turn(gw)
            await text_turn(gw)
            router = gw.gateway.router
            limited = router.candidates("gpt-realtime")[0]
            assert router.health.get(limited).total_failures == 1  # cooled at once: not tried again
            assert router.health.cooldown_left(limited) > 0
    assert len(fake.connections) == 2


# ------------------------------------------------------------------ fallbacks


async def test_fallback_to_another_group_of_the_same_provider():
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    cap = Capture()
    async with fake.running():
        cfg = config(deployment("dead", dead_base()), deployment("backup", fake.api_base, group="gpt-backup"),
                     router={"fallbacks": [{"gpt-realtime": ["gpt-backup"]}]})
        async with running_gateway(cfg, plugins={"capture": cap}) as gw:
            await text_turn(gw)
    routing = cap.starts()[0]["payload"]["routing"]
    assert routing["fallback"] is True
    assert (routing["model_group"], routing["served_by_group"]) == ("gpt-realtime", "gpt-backup")
    assert [a["group"] for a in routing["attempts"]] == ["gpt-realtime", "gpt-backup"]


async def test_fallback_across_providers_to_the_mock_model():
    cap = Capture()
    cfg = config(deployment("dead-1", dead_base()), deployment("dead-2", dead_base()),
                 {"model_name": "offline", "litellm_params": {"model": "mock/mock", "reply_text": "fallback works"}},
                 router={"fallbacks": [{"gpt-realtime": ["offline"]}]})
    async with running_gateway(cfg, plugins={"capture": cap}) as gw:
        events = await text_turn(gw)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "fallback works"
    routing = cap.starts()[0]["payload"]["routing"]
    assert routing["served_by_group"] == "offline"
    assert [a["ok"] for a in routing["attempts"]] == [False, False, True]


async def test_num_retries_zero_tries_one_deployment_per_group():
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running():
        cfg = config(deployment("dead", dead_base(), weight=1), deployment("live", fake.api_base, weight=0),
                     router={"num_retries": 0})
        async with running_gateway(cfg) as gw:
            err, code = await refused(gw)
    assert code == 1014
    assert "1 deployment(s) tried" in err["error"]["message"]
    assert not fake.connections


# ------------------------------------------------------------------ everything fails


async def test_all_failed_gives_one_clear_error_and_1014():
    cfg = config(deployment("dead-1", dead_base()), deployment("dead-2", dead_base()),
                 deployment("dead-3", dead_base(), group="gpt-backup"),
                 router={"fallbacks": [{"gpt-realtime": ["gpt-backup"]}]})
    cap = Capture()
    async with running_gateway(cfg, plugins={"capture": cap}) as gw:
        with anyio.fail_after(10):
            err, code = await refused(gw)
    assert code == 1014
    e = err["error"]
    assert e["code"] == "upstream_unavailable" and e["type"] == "server_error"
    assert "'gpt-realtime'" in e["message"] and "'gpt-backup'" in e["message"]
    assert "3 deployment(s) tried, all failed" in e["message"]
    assert "Last upstream error: openai/gpt-realtime (dead-3) could not be reached" in e["message"]
    assert UPSTREAM_KEY not in json.dumps(err)
    kinds = [r.kind for r in cap.records]
    assert kinds == ["session.start", "session.end"]
    end = cap.records[1].to_dict()
    assert end["payload"]["close_code"] == 1014 and end["deployment"] is None
    assert len(end["payload"]["attempts"]) == 3


async def test_everything_cooling_down_gives_1013_without_trying():
    cfg = config(deployment("dead-1", dead_base()), deployment("dead-2", dead_base()),
                 router={"allowed_fails": 1, "cooldown_time": 60})
    async with running_gateway(cfg) as gw:
        _, first = await refused(gw)
        err, second = await refused(gw)
    assert (first, second) == (1014, 1013)
    assert "cooling down" in err["error"]["message"]
    assert "Try again later" in err["error"]["message"]


async def test_max_parallel_requests_caps_sessions_then_frees_the_slot():
    fake = FakeOpenAI(api_key=UPSTREAM_KEY)
    async with fake.running():
        cfg = config(deployment("live", fake.api_base, max_parallel_requests=1))
        async with running_gateway(cfg) as gw:
            async with sdk(gw).realtime.connect(model="gpt-realtime") as held:
                assert (await next_event(held, "ga"))["type"] == "session.created"
                err, code = await refused(gw)
                assert code == 1013
                assert "max_parallel_requests (1 sessions)" in err["error"]["message"]
            with anyio.fail_after(5):
                while gw.gateway.relays:
                    await anyio.sleep(0.02)
            await text_turn(gw)


async def test_least_busy_spreads_open_sessions():
    fakes = [FakeOpenAI(api_key=UPSTREAM_KEY), FakeOpenAI(api_key=UPSTREAM_KEY)]
    async with fakes[0].running(), fakes[1].running():
        cfg = config(deployment("a", fakes[0].api_base), deployment("b", fakes[1].api_base),
                     router={"routing_strategy": "least-busy"})
        async with running_gateway(cfg) as gw:
            async with sdk(gw).realtime.connect(model="gpt-realtime") as one, \
                    sdk(gw).realtime.connect(model="gpt-realtime") as two:
                await next_event(one, "ga")
                await next_event(two, "ga")
                assert sorted(len(f.connections) for f in fakes) == [1, 1]


async def test_order_serves_lower_orders_first_and_higher_ones_on_failure():
    fakes = [FakeOpenAI(api_key=UPSTREAM_KEY), FakeOpenAI(api_key=UPSTREAM_KEY)]
    async with fakes[0].running(), fakes[1].running():
        cfg = config(deployment("primary-dead", dead_base(), order=1),
                     deployment("secondary", fakes[0].api_base, order=2),
                     deployment("tertiary", fakes[1].api_base, order=3))
        async with running_gateway(cfg) as gw:
            for _ in range(4):
                await text_turn(gw)
    assert (len(fakes[0].connections), len(fakes[1].connections)) == (4, 0)
