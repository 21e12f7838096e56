"""Micro-benchmark of rt's passthrough hot path (no sockets).

Measures the CPU per frame of what rt does to a 20 ms pcm16 24 kHz audio
frame between the two sockets, for both directions:

* inbound:  client text → ClientEdge.inbound → translate_inbound (pluggy,
  rt-openai) → ToUpstream(original text)
* outbound: upstream text → translate_outbound → ClientEdge.outbound (GA
  client: original text; beta client: type renamed by slicing)

and, for comparison, a naive relay that parses and re-serialises each frame.

    .venv/bin/python bench/micro/passthrough_hot_path.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time

from rt_core import Event, IdFactory, Session
from rt_core.config import load_config
from rt_core.edge import ClientEdge
from rt_core.plugins import PluginHost


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20000)
    args = ap.parse_args()
    n = args.frames

    host = PluginHost(env={})
    cfg = load_config({"model_list": [{"model_name": "m", "litellm_params": {
        "model": "openai/gpt-realtime", "api_key": "k", "api_base": "http://127.0.0.1:1"}}]}, host.providers(), env={})
    dep = cfg.deployments[0]
    ids = IdFactory(seed="bench")
    session = Session(id="s", model="m", ids=ids, deployment=dep)
    session.translator = host.hook.create_translator(deployment=dep, session=session)
    inbound, outbound = host.session_callers("openai")

    audio = base64.b64encode(os.urandom(960)).decode()
    client_frame = json.dumps({"type": "input_audio_buffer.append", "audio": audio, "event_id": "evt_1"})
    upstream_frame = json.dumps({"type": "response.output_audio.delta", "event_id": "event_1", "response_id": "resp_1",
                                 "item_id": "item_1", "output_index": 0, "content_index": 0, "delta": audio})

    def bench(label: str, fn) -> float:
        for _ in range(min(n, 2000)):
            fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        us = (time.perf_counter() - t0) / n * 1e6
        print(f"{label:<58} {us:7.2f} µs/frame")
        return us

    ga_edge = ClientEdge("ga", max_event_bytes=1 << 24, ids=ids)
    beta_edge = ClientEdge("beta", max_event_bytes=1 << 24, ids=ids)

    def rt_inbound(edge=ga_edge):
        events, _ = edge.inbound(client_frame)
        for ev in events:
            actions = inbound(session=session, event=ev)
            assert actions[0].frame is client_frame

    def rt_outbound(edge=ga_edge):
        for a in outbound(session=session, frame=upstream_frame):
            edge.outbound(a.event)

    def naive_inbound():
        json.dumps(json.loads(client_frame))

    def naive_outbound():
        json.dumps(json.loads(upstream_frame))

    print(f"frame sizes: client {len(client_frame)} B, upstream {len(upstream_frame)} B; {n} frames each")
    bench("rt inbound  (edge + pluggy + rt-openai), GA client", rt_inbound)
    bench("rt inbound, beta client", lambda: rt_inbound(beta_edge))
    bench("rt outbound (pluggy + rt-openai + edge), GA client", rt_outbound)
    bench("rt outbound, beta client (type renamed by slicing)", lambda: rt_outbound(beta_edge))
    bench("naive inbound  (json.loads + json.dumps)", naive_inbound)
    bench("naive outbound (json.loads + json.dumps)", naive_outbound)
    bench("pluggy call alone (translate_outbound)", lambda: outbound(session=session, frame=upstream_frame))


if __name__ == "__main__":
    main()
