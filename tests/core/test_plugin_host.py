"""The plugin host: built-in dispatch, per-provider narrowing, interception."""

from __future__ import annotations

import rt_mock.plugin
import rt_openai.plugin
from rt_core import Event, IdFactory, ProviderSpec, Session, ToUpstream, hookimpl
from rt_core.config import load_config
from rt_core.plugins import PluginHost


class Spy:
    """A non-provider plugin that intercepts one event type and sees all."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def translate_inbound(self, session, event):
        self.seen.append(event.type)
        if event.type == "rt.test.intercept":
            return [ToUpstream("intercepted")]
        return None


class OtherProvider:
    """A provider plugin whose translate hook must never see openai sessions."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def rt_providers(self):
        return [ProviderSpec("other")]

    @hookimpl
    def translate_inbound(self, session, event):
        self.calls += 1
        return [ToUpstream("wrong plugin")]


def _session(host: PluginHost) -> Session:
    cfg = load_config({"model_list": [{"model_name": "m", "litellm_params": {
        "model": "openai/gpt-realtime", "api_base": "http://127.0.0.1:1"}}]}, host.providers(), env={})
    dep = cfg.deployments[0]
    s = Session(id="s", model="m", ids=IdFactory(seed="t"), deployment=dep)
    s.translator = host.hook.create_translator(deployment=dep, session=s)
    return s


def test_without_other_plugins_the_dispatch_is_called_directly():
    from rt_core import dispatch

    host = PluginHost(autoload=False, plugins={"openai": rt_openai.plugin}, env={})
    inbound, outbound = host.session_callers("openai")
    assert inbound is dispatch.translate_inbound and outbound is dispatch.translate_outbound
    s = _session(host)
    actions = inbound(session=s, event=Event.from_text('{"type":"input_audio_buffer.clear"}'))
    assert [a.frame for a in actions] == ['{"type":"input_audio_buffer.clear"}']


def test_a_wrapper_plugin_sees_and_can_intercept_events_and_other_providers_never_do():
    spy, other = Spy(), OtherProvider()
    host = PluginHost(autoload=False, plugins={"openai": rt_openai.plugin, "mock": rt_mock.plugin,
                                               "spy": spy, "other": other}, env={})
    inbound, _ = host.session_callers("openai")
    s = _session(host)
    passed = inbound(session=s, event=Event.from_text('{"type":"input_audio_buffer.clear"}'))
    assert [a.frame for a in passed] == ['{"type":"input_audio_buffer.clear"}']
    caught = inbound(session=s, event=Event.from_data({"type": "rt.test.intercept"}))
    assert [a.frame for a in caught] == ["intercepted"]
    assert spy.seen == ["input_audio_buffer.clear", "rt.test.intercept"]
    assert other.calls == 0


def test_blocked_plugins_are_not_loaded():
    host = PluginHost(env={"RT_BLOCK_PLUGINS": "mock"})
    assert "mock" not in host.providers() and "openai" in host.providers()
