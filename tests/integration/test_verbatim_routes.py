"""The relay's shortcuts for frames a translator passes through unchanged
(rt_core.relay: ``Relay._client_route`` / ``Relay._upstream_route``).

Plain audio appends and the high-rate deltas skip the event, the hooks and
the actions; what reaches each side must be exactly what the general path
sends, the session's bookkeeping (counters, the edge's turn state) must see
every frame, bad frames must still get rt's own errors, and the shortcuts
must step aside whenever something else wants to see those frames (a beta
client, the event log, another plugin's translate hook, a translator that
changes them)."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect as ws_connect

from rt_core import hookimpl
from rt_core.edge import ClientEdge
from rt_core.events import IdFactory
from rt_azure.translator import AzureTranslator
from rt_openai import PassthroughTranslator
from rt_xai.translator import XAITranslator
from tests.fakes.openai_realtime import FakeOpenAI, tone
from tests.harness import only_relay, recv_text, running_gateway, texts_until
from tests.realtime_client import openai_config

AUDIO = base64.b64encode(tone(20)).decode()
COMPACT = '{"type":"input_audio_buffer.append","audio":"%s"}' % AUDIO
SPACED_WITH_ID = json.dumps({"type": "input_audio_buffer.append", "audio": AUDIO, "event_id": "evt_a2"})
COMPACT_WITH_ID = '{"type":"input_audio_buffer.append","audio":"%s","event_id":"evt_a3"}' % AUDIO
APPENDS = [COMPACT, SPACED_WITH_ID, COMPACT_WITH_ID]


# ---------------------------------------------------------------------------- end to end


@pytest.mark.anyio
async def test_ga_passthrough_uses_both_shortcuts_and_changes_no_byte():
    fake = FakeOpenAI(deltas=4)
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_text(ws)  # session.created
            relay = only_relay(gw)
            assert relay.shortcuts == ("verbatim appends", "verbatim deltas")
            sent = [*APPENDS, json.dumps({"type": "input_audio_buffer.commit"}), json.dumps({"type": "response.create"})]
            for frame in sent:
                await ws.send(frame)
            received = await texts_until(ws, "response.done")
            assert relay.stats.frames_in == len(sent)
            assert relay.stats.bytes_in == sum(len(f) for f in sent)
    raw = fake.connections[0].raw
    # The appends reached the upstream exactly as the client wrote them, in order.
    assert [r for r in raw if "input_audio_buffer.append" in r] == APPENDS
    assert [json.loads(r)["type"] for r in raw][-2:] == ["input_audio_buffer.commit", "response.create"]
    assert bytes(fake_audio(fake)) == tone(20) * 3
    deltas = [t for t in received if '.delta"' in t[:60]]
    kinds = {json.loads(t)["type"] for t in deltas}
    assert kinds == {"response.output_audio.delta", "response.output_audio_transcript.delta"}
    # The fake writes json.dumps' default spelling: a delta passed on unchanged still has it.
    assert all(t == json.dumps(json.loads(t)) for t in deltas)
    assert len(deltas) == 8
    assert not fake.invalid


def fake_audio(fake: FakeOpenAI) -> bytes:
    return b"".join(base64.b64decode(e["audio"]) for e in fake.connections[0].received
                    if e["type"] == "input_audio_buffer.append")


@pytest.mark.anyio
async def test_bad_appends_get_clear_errors_and_the_session_goes_on():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(
            openai_config(fake.api_base, litellm_settings={"max_event_bytes": 4096})) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_text(ws)
            assert only_relay(gw).shortcuts == ("verbatim appends", "verbatim deltas")
            # Over the size limit (ASCII, so its length is its size): rt refuses it.
            big = '{"type":"input_audio_buffer.append","audio":"%s"}' % ("A" * 8000)
            await ws.send(big)
            err = json.loads(await recv_text(ws))
            assert err["type"] == "error" and err["error"]["code"] == "event_too_large"
            # Not JSON before the audio string: rt's own parse refuses it.
            await ws.send('{"type":"input_audio_buffer.append",audio:"AAAA"}')
            err = json.loads(await recv_text(ws))
            assert err["type"] == "error" and err["error"]["code"] == "invalid_json"
            # A raw control character inside the audio string: the structure is an
            # append, so it is forwarded unchanged and the upstream's parse answers.
            ctrl = '{"type":"input_audio_buffer.append","audio":"AAAA\x01AAA","event_id":"evt_bad"}'
            await ws.send(ctrl)
            err = json.loads(await recv_text(ws))
            assert err["type"] == "error" and err["error"]["code"] == "invalid_json"
            await ws.send(COMPACT)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await texts_until(ws, "input_audio_buffer.committed")
    raw = fake.connections[0].raw
    assert [r for r in raw if "append" in r] == [ctrl, COMPACT]
    assert [reason for _, reason in fake.invalid] == ["not JSON"]


@pytest.mark.anyio
async def test_appends_taken_by_the_shortcut_count_for_input_audio_buffer_end():
    """The edge commits the audio for ``input_audio_buffer.end`` only when some
    arrived since the last commit: the shortcut must record it as the edge does."""
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_text(ws)
            assert "verbatim appends" in only_relay(gw).shortcuts
            await ws.send(COMPACT)
            await ws.send(json.dumps({"type": "input_audio_buffer.end"}))
            await texts_until(ws, "input_audio_buffer.committed")
    types = fake.connections[0].types()
    assert types[:2] == ["input_audio_buffer.append", "input_audio_buffer.commit"]


@pytest.mark.anyio
async def test_beta_client_takes_the_append_shortcut_but_deltas_are_renamed():
    fake = FakeOpenAI()
    async with fake.running(), running_gateway(openai_config(fake.api_base)) as gw:
        headers = {"OpenAI-Beta": "realtime=v1"}
        async with ws_connect(gw.realtime_url("gpt-realtime"), additional_headers=headers) as ws:
            await recv_text(ws)
            assert only_relay(gw).shortcuts == ("verbatim appends",)
            await ws.send(COMPACT)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await ws.send(json.dumps({"type": "response.create"}))
            types = [json.loads(t)["type"] for t in await texts_until(ws, "response.done")]
    assert "response.audio.delta" in types and "response.output_audio.delta" not in types


@pytest.mark.anyio
@pytest.mark.parametrize(("logged", "expected"), [
    ("*", ()),
    (["input_audio_buffer.append"], ("verbatim deltas",)),
    (["response.output_audio.delta"], ("verbatim appends", "verbatim deltas")),  # the other deltas still qualify
])
async def test_events_the_log_records_are_not_taken_past_it(logged: Any, expected: tuple[str, ...], tmp_path: Any):
    fake = FakeOpenAI()
    jsonl = tmp_path / "events.jsonl"
    async with fake.running(), running_gateway(openai_config(fake.api_base, litellm_settings={
            "logged_real_time_event_types": logged, "rt_log_jsonl": str(jsonl)})) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_text(ws)
            assert only_relay(gw).shortcuts == expected
            await ws.send(COMPACT)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await ws.send(json.dumps({"type": "response.create"}))
            await texts_until(ws, "response.done")
    with anyio.fail_after(5):
        while '"session.end"' not in (jsonl.read_text() if jsonl.exists() else ""):
            await anyio.sleep(0.02)
    logged_types = {json.loads(line).get("event_type") for line in jsonl.read_text().splitlines()}
    # What the log was asked for, it got, shortcut or not.
    wanted = {"input_audio_buffer.append", "response.output_audio.delta"} if logged == "*" else set(logged)
    assert wanted <= logged_types


class WatchesInbound:
    """A third-party plugin that looks at every client event (returns None: dispatch still answers)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def translate_inbound(self, session: Any, event: Any) -> None:
        self.seen.append(getattr(event, "type", type(event).__name__))


@pytest.mark.anyio
async def test_another_plugins_translate_hook_turns_the_shortcuts_off():
    fake = FakeOpenAI()
    watcher = WatchesInbound()
    async with fake.running(), running_gateway(openai_config(fake.api_base), plugins={"watcher": watcher}) as gw:
        async with ws_connect(gw.realtime_url("gpt-realtime")) as ws:
            await recv_text(ws)
            assert only_relay(gw).shortcuts == ()
            await ws.send(COMPACT)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            await texts_until(ws, "input_audio_buffer.committed")
    assert watcher.seen[:2] == ["input_audio_buffer.append", "input_audio_buffer.commit"]


# ---------------------------------------------------------------------------- the declarations


def test_translators_declare_only_what_they_really_pass_through():
    ids = IdFactory(seed="t")
    ga, beta = PassthroughTranslator("ga", ids=ids), PassthroughTranslator("beta", ids=ids)
    assert (ga.verbatim_appends, ga.verbatim_outbound) == (True, True)
    assert (beta.verbatim_appends, beta.verbatim_outbound) == (True, False)  # beta events are renamed
    azure_ga, azure_beta = AzureTranslator("ga", ids=ids), AzureTranslator("beta", ids=ids)
    assert (azure_ga.verbatim_appends, azure_ga.verbatim_outbound) == (True, True)
    assert (azure_beta.verbatim_appends, azure_beta.verbatim_outbound) == (True, False)
    xai = XAITranslator(model="grok", ids=ids)  # counts input audio, rewrites output events
    assert (xai.verbatim_appends, xai.verbatim_outbound) == (False, False)


def test_the_declarations_match_what_the_translator_returns():
    from rt_core import Event, ToClient, ToUpstream

    t = PassthroughTranslator("ga", ids=IdFactory(seed="t"))
    for frame in APPENDS:
        (action,) = t.inbound(Event.from_text(frame))
        assert type(action) is ToUpstream and action.frame is frame
    delta = json.dumps({"type": "response.output_audio.delta", "event_id": "e", "delta": AUDIO})
    (action,) = t.outbound(delta)
    assert type(action) is ToClient and action.event.text is delta


def test_edge_passes_appends_as_inbound_would():
    """Only plain appends within the limit (what inbound would take as they are);
    append_audio (the quick route's) takes the same ones and gives their audio."""
    edge = ClientEdge("ga", max_event_bytes=4096, ids=IdFactory(seed="t"))
    assert not edge.uncommitted_audio
    assert edge.passes_append(COMPACT) and edge.uncommitted_audio
    for frame in APPENDS:
        quick = ClientEdge("ga", max_event_bytes=4096, ids=IdFactory(seed="t"))
        assert quick.append_audio(frame) == AUDIO and quick.uncommitted_audio
    for frame in (COMPACT.encode(),  # binary: an error from inbound
                  '{"type":"input_audio_buffer.append","audio":"AA\\/A"}',  # an escape: inbound reads it
                  '{"type":"input_audio_buffer.append","audio":"%s"}' % ("A" * 5000),  # too big
                  '{"audio":"AAAA","type":"input_audio_buffer.append"}',  # unusual order: inbound parses it
                  json.dumps({"type": "input_audio_buffer.commit"})):
        assert not edge.passes_append(frame), frame[:60]
        other = ClientEdge("ga", max_event_bytes=4096, ids=IdFactory(seed="t"))
        assert other.append_audio(frame) is None and not other.uncommitted_audio, frame[:60]
    edge2 = ClientEdge("ga", max_event_bytes=4096, ids=IdFactory(seed="t"))
    assert not edge2.passes_append(json.dumps({"type": "input_audio_buffer.commit"}))
    assert not edge2.uncommitted_audio


def test_edge_passes_verbatim_only_what_it_neither_renames_nor_watches():
    ga = ClientEdge("ga", max_event_bytes=4096, ids=IdFactory(seed="t"))
    beta = ClientEdge("beta", max_event_bytes=4096, ids=IdFactory(seed="t"))
    assert ga.passes_verbatim("response.output_audio.delta")
    assert not beta.passes_verbatim("response.output_audio.delta")
    for watched in ("response.done", "response.created", "input_audio_buffer.committed", "error", "session.updated"):
        assert not ga.passes_verbatim(watched)
