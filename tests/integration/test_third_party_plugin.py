"""A separately installed distribution is discovered through the rt.plugins
entry-point group and serves a model: installed with pip from
tests/example_plugin into a private target directory, then used by a real
``rt-core serve`` process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest
from openai import AsyncOpenAI

from tests.process import GatewayProcess, run_cli
from tests.realtime_client import collect_until, next_event

EXAMPLE = Path(__file__).resolve().parents[1] / "example_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(target), str(EXAMPLE)], check=True, timeout=300)
    assert list(target.glob("rt_example_echo-0.3.1.dist-info"))
    return target


def test_plugins_command_lists_the_third_party_distribution(installed):
    r = run_cli("plugins", env={"PYTHONPATH": str(installed)})
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if l.startswith("echo"))
    assert "rt-example-echo 0.3.1" in line and "providers: echo" in line
    # and without it installed, it is not there
    assert not any(l.startswith("echo") for l in run_cli("plugins").stdout.splitlines())


def test_third_party_plugin_serves_a_model(installed, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(textwrap.dedent("""
        model_list:
          - model_name: echo-model
            litellm_params: {model: echo/anything}
    """))
    with GatewayProcess("--config", str(cfg), env={"PYTHONPATH": str(installed)}) as gw:
        async def talk():
            client = AsyncOpenAI(api_key="x", base_url=f"http://127.0.0.1:{gw.port}/v1")
            async with client.realtime.connect(model="echo-model") as conn:
                assert (await next_event(conn, "ga"))["type"] == "session.created"
                await conn.conversation.item.create(item={"type": "message", "role": "user",
                                                          "content": [{"type": "input_text", "text": "hi plugin"}]})
                await conn.response.create()
                return await collect_until(conn, "ga")

        events = anyio.run(talk)
        deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
        assert deltas == ["echo: hi plugin"]
