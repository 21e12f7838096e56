"""Run the real gateway in-process on 127.0.0.1:0 for end-to-end tests.

::

    async with running_gateway(config) as gw:
        client = AsyncOpenAI(api_key="x", base_url=gw.http_url)
        async with client.realtime.connect(model="mock") as conn: ...

Plugins come from the installed entry points, so a test exercises the same
discovery path as ``rt-core serve``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from rt_core.config import Config, load_config
from rt_core.plugins import PluginHost
from rt_core.server import Gateway


@dataclass
class GatewayHandle:
    gateway: Gateway
    config: Config
    host: PluginHost
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    def realtime_url(self, model: str, path: str = "/v1/realtime") -> str:
        return f"ws://127.0.0.1:{self.port}{path}?model={model}"


async def recv_text(ws: Any, timeout: float = 5.0) -> str:
    """The next frame from a raw WebSocket client, within ``timeout`` s."""
    with anyio.fail_after(timeout):
        return await ws.recv()  # type: ignore[no-any-return]


async def texts_until(ws: Any, last_type: str) -> list[str]:
    """The frames received up to and including the first event of ``last_type``."""
    out = []
    while True:
        text = await recv_text(ws)
        out.append(text)
        if json.loads(text)["type"] == last_type:
            return out


def only_relay(gw: GatewayHandle) -> Any:
    """The gateway's one session relay (asserts there is exactly one)."""
    relays = list(gw.gateway.relays)
    assert len(relays) == 1
    return relays[0]


@asynccontextmanager
async def running_gateway(
    config: Mapping[str, Any] | str | None,
    *,
    env: Mapping[str, str] | None = None,
    plugins: Mapping[str, object] | None = None,
) -> AsyncIterator[GatewayHandle]:
    """Start a gateway for ``config`` (dict, YAML text or None = embedded default)."""
    host = PluginHost(plugins=plugins, env={} if env is None else env)
    cfg = load_config(config, host.providers(), env=os.environ if env is None else env)
    gateway = Gateway(cfg, host)
    async with anyio.create_task_group() as tg:
        port = await tg.start(gateway.serve, "127.0.0.1", 0)
        try:
            yield GatewayHandle(gateway, cfg, host, port)
        finally:
            tg.cancel_scope.cancel()
