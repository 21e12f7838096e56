from __future__ import annotations

import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_realtime import FakeOpenAI
from tests.harness import running_gateway

pytestmark = pytest.mark.anyio


async def test_ga_text_turn_smoke():
    fake = FakeOpenAI()
    async with fake.running():
        cfg = {"model_list": [{"model_name": "gpt-realtime", "litellm_params": {
            "model": "openai/gpt-realtime", "api_key": "sk-upstream", "api_base": fake.api_base}}]}
        async with running_gateway(cfg) as gw:
            client = AsyncOpenAI(api_key="anything", base_url=gw.http_url)
            async with client.realtime.connect(model="gpt-realtime") as conn:
                ev = await conn.recv()
                assert ev.type == "session.created"
                await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
                await conn.conversation.item.create(item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi there"}]})
                await conn.response.create()
                types = []
                async for ev in conn:
                    types.append(ev.type)
                    if ev.type == "response.done":
                        break
                assert "response.output_text.delta" in types
    assert not fake.invalid
