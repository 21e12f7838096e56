"""Micro-benchmark of rt's Gemini translation hot path (no sockets).

Measures the CPU per frame of what rt does to a 20 ms pcm16 24 kHz audio
frame between the two sockets on the Gemini path, for both directions, with
the session already set up and a reply streaming (the steady state):

* inbound:  client ``input_audio_buffer.append`` text → ClientEdge.inbound →
  translate_inbound (built-in dispatch → GeminiTranslator) →
  ToUpstream(``realtimeInput.audio`` frame)
* outbound: Gemini ``serverContent.modelTurn.parts[0].inlineData`` frame
  (JSON in a binary frame, as Google sends it) → translate_outbound →
  ToClient(``response.output_audio.delta``) → ClientEdge.outbound (GA client,
  and beta client: type renamed by slicing)

The outbound frame is measured in three spellings: compact JSON (what the
benchmark's fake Gemini sends), ``json.dumps`` default spacing (what the test
fake sends) and indented JSON (any other whitespace).  For comparison: ``json.loads`` of the Gemini frame alone.

    .venv/bin/python bench/micro/gemini_hot_path.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

from rt_core import Event, IdFactory, Session, ToClient, ToUpstream, UpstreamOpened
from rt_core.config import load_config
from rt_core.edge import ClientEdge
from rt_core.plugins import PluginHost


def setup_session() -> tuple[Session, Any, Any, IdFactory]:
    """A Gemini session through the real plugin host, set up and ready (no sockets)."""
    host = PluginHost(env={})
    cfg = load_config({"model_list": [{"model_name": "m", "litellm_params": {
        "model": "gemini/gemini-live-2.5-flash-preview", "api_key": "k", "api_base": "http://127.0.0.1:1"}}]},
        host.providers(), env={})
    dep = cfg.deployments[0]
    ids = IdFactory(seed="bench")
    session = Session(id="s", model="m", ids=ids, deployment=dep)
    session.translator = host.hook.create_translator(deployment=dep, session=session)
    inbound, outbound = host.session_callers("gemini")
    outbound(session=session, frame=UpstreamOpened())
    inbound(session=session, event=Event.from_data({"type": "session.update", "session": {"type": "realtime"}}))
    outbound(session=session, frame=b'{"setupComplete":{}}')
    return session, inbound, outbound, ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20000)
    args = ap.parse_args()
    n = args.frames

    session, inbound, outbound, ids = setup_session()
    audio = base64.b64encode(os.urandom(960)).decode()  # 20 ms of pcm16 at 24 kHz (480 samples)
    client_frame = json.dumps({"type": "input_audio_buffer.append", "audio": audio, "event_id": "evt_1"})
    gemini_msg = {"serverContent": {"modelTurn": {"parts": [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": audio}}]}}}
    compact = json.dumps(gemini_msg, separators=(",", ":")).encode()
    spaced = json.dumps(gemini_msg).encode()
    indented = json.dumps(gemini_msg, indent=2).encode()

    ga_edge = ClientEdge("ga", max_event_bytes=1 << 24, ids=ids)
    beta_edge = ClientEdge("beta", max_event_bytes=1 << 24, ids=ids)

    # The first audio frame starts a (server VAD) reply: after it, every frame is steady state.
    first = outbound(session=session, frame=compact)
    assert any(type(a) is ToClient and type(a.event) is Event and a.event.type == "response.output_audio.delta"
               for a in first)

    def bench(label: str, fn: Callable[[], None]) -> float:
        for _ in range(min(n, 2000)):
            fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        us: float = (time.perf_counter() - t0) / n * 1e6
        print(f"{label:<62} {us:7.2f} µs/frame")
        return us

    def rt_inbound(edge: ClientEdge = ga_edge) -> None:
        events, _ = edge.inbound(client_frame)
        for ev in events:
            actions = inbound(session=session, event=ev)
            assert type(actions[0]) is ToUpstream

    def rt_outbound(frame: bytes = compact, edge: ClientEdge = ga_edge) -> None:
        for a in outbound(session=session, frame=frame):
            edge.outbound(a.event)

    def translator_outbound(frame: bytes = compact) -> None:
        outbound(session=session, frame=frame)

    print(f"frame sizes: client {len(client_frame)} B, Gemini {len(compact)} B (compact) / {len(spaced)} B (spaced); "
          f"{n} frames each")
    bench("rt inbound  (edge + dispatch + rt-gemini), GA client", rt_inbound)
    bench("rt inbound, beta client", lambda: rt_inbound(beta_edge))
    bench("rt outbound (dispatch + rt-gemini + edge), GA client", rt_outbound)
    bench("rt outbound, beta client", lambda: rt_outbound(compact, beta_edge))
    bench("rt outbound, GA client, spaced JSON (json.dumps default)", lambda: rt_outbound(spaced, ga_edge))
    bench("rt outbound, GA client, indented JSON (the regex spelling)", lambda: rt_outbound(indented, ga_edge))
    bench("translator outbound alone (no edge), compact", translator_outbound)
    bench("json.loads of the Gemini frame alone", lambda: json.loads(compact) and None)
    bench("ClientEdge.inbound alone (reading the client frame)", lambda: ga_edge.inbound(client_frame) and None)


if __name__ == "__main__":
    main()
