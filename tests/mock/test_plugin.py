"""rt-mock as a plugin: entry point, hooks (through pluggy, as the core calls them), upstream."""

from __future__ import annotations

import importlib.metadata

import anyio
import pluggy

from rt_core.plugins import PluginHost
import pytest
from pydantic import ValidationError

import rt_mock.plugin
from rt_core import Deployment, Event, IdFactory, Session, ToClient, UpstreamClosed, UpstreamLost, UpstreamOpened
from rt_core import hookspecs
from rt_mock import MockSettings, MockTranslator, MockUpstream


def _manager() -> pluggy.PluginManager:
    # Exactly the mock plugin, plus the core's built-in translator dispatch.
    return PluginHost(autoload=False, plugins={"mock": rt_mock.plugin}, env={}).pm


def _deployment(provider: str = "mock", **params) -> Deployment:
    settings = MockSettings(model=f"{provider}/mock-1", **params)
    return Deployment(id="d1", model_name="mock", provider=provider, model="mock-1", settings=settings)


def test_entry_point_is_registered_in_the_rt_plugin_group():
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="rt.plugins")}
    assert eps["mock"].value == "rt_mock.plugin"
    assert eps["mock"].load() is rt_mock.plugin


def test_provider_spec_and_settings_validation():
    (spec,) = [s for specs in _manager().hook.rt_providers() for s in specs]
    assert spec.name == "mock" and spec.settings is MockSettings
    ok = MockSettings.model_validate({"model": "mock/mock", "reply_text": "hi", "delta_interval_ms": 0})
    assert ok.reply_text == "hi"
    with pytest.raises(ValidationError):
        MockSettings.model_validate({"model": "mock/mock", "delta_interval_ms": -1})


def test_hooks_serve_mock_deployments_only():
    pm = _manager()
    session = Session(id="sess_1", model="mock", ids=IdFactory(seed="p"))
    other = _deployment("openai")
    assert pm.hook.create_translator(deployment=other, session=session) is None
    assert pm.hook.connect_upstream(deployment=other, session=session) is None
    assert pm.hook.translate_inbound(session=session, event=Event.from_data({"type": "response.create"})) is None

    dep = _deployment(reply_text="Fixed.")
    session.deployment = dep
    session.translator = pm.hook.create_translator(deployment=dep, session=session)
    assert isinstance(session.translator, MockTranslator)
    assert isinstance(pm.hook.connect_upstream(deployment=dep, session=session), MockUpstream)

    created = pm.hook.translate_outbound(session=session, frame=UpstreamOpened())
    assert [a.event["type"] for a in created] == ["session.created"]
    assert created[0].event["session"]["id"] == "sess_1"
    assert created[0].event["session"]["model"] == "mock-1"
    actions = pm.hook.translate_inbound(session=session, event=Event.from_text(
        '{"type":"conversation.item.create","item":{"type":"message","role":"user",'
        '"content":[{"type":"input_text","text":"x"}]}}'))
    assert [a.event["type"] for a in actions if isinstance(a, ToClient)] == [
        "conversation.item.added", "conversation.item.done"]
    # An upstream loss falls back to the core's default handling.
    assert pm.hook.translate_outbound(session=session, frame=UpstreamLost(1006, "gone")) is None


@pytest.mark.anyio
async def test_upstream_opens_at_once_and_stays_silent_until_closed():
    up = MockUpstream()
    with anyio.fail_after(1):
        await up.open()
    await up.send("ignored")
    assert up.sent == 1
    with anyio.move_on_after(0.05) as scope:
        await up.receive()
    assert scope.cancelled_caught  # nothing ever arrives

    async def close_soon() -> None:
        await anyio.sleep(0.01)
        await up.aclose(1000, "bye")

    async with anyio.create_task_group() as tg:
        tg.start_soon(close_soon)
        with anyio.fail_after(1), pytest.raises(UpstreamClosed) as info:
            await up.receive()
    assert (info.value.code, info.value.reason) == (1000, "bye")
    with pytest.raises(UpstreamClosed):
        await up.send("late")
    with pytest.raises(UpstreamClosed):
        await up.receive()


@pytest.mark.anyio
async def test_unopened_upstream_refuses_io():
    up = MockUpstream()
    with pytest.raises(UpstreamClosed):
        await up.receive()
    with pytest.raises(UpstreamClosed):
        await up.send("x")
    await up.aclose()  # closing an unopened upstream is harmless
